"""Call review core on the real (throwaway) database: list, detail, review, exports, recording."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from core import auth
from core.agent.questions import question_id
from core.auth import PermissionDenied
from core.calling.outcome import outcome_text
from core.db import AUDIT_LOG, CALLS, MEDIA_CACHE
from core.documents.call import Call
from core.providers.resilience import ProviderUnavailable
from core.providers.ultravox import Recording
from core.review import call_list, recording_store, recordings
from core.review import decisions as review_decisions
from core.review import detail as review_detail
from core.review import exports as review_exports
from core.review import filters as review_filters
from core.review import store as review_store
from core.review.models import Page
from tests.support.apptest import make_user
from tests.support.review_seed import QUESTIONS, T0, add_call, add_candidate, add_job, conversation
from tests.support.visible_text import engineer_speak

F = review_filters.CallFilters


@pytest.fixture
def data(db):
    """Two jobs, four candidates, ten calls over ten days with mixed outcomes and decisions."""
    j1, j2 = add_job(db, "Forklift driver"), add_job(db, "Night cook")
    ann = add_candidate(db, "Ann Archer", "+12015550101", [j1, j2])
    anna = add_candidate(db, "Anna Bell", "+12015550102", [j1])
    bob = add_candidate(db, "Bob Stone", "+12015550103", [j1])
    cy = add_candidate(db, "Cy Young", "+12015550104", [j2])
    plan = [  # (candidate, job, status, day, duration, decision, cost)
        (ann, j1, "completed", 0, 300, "advance", "0.42"),
        (ann, j2, "completed", 1, 200, "reject", "0.30"),
        (anna, j1, "no_answer", 2, None, None, None),
        (anna, j1, "completed", 3, 100, "hold", "0.12"),
        (bob, j1, "busy", 4, None, None, None),
        (bob, j1, "completed", 5, 250, None, "0.35"),
        (bob, j1, "in_progress", 6, None, None, None),
        (cy, j2, "voicemail", 7, 20, None, "0.02"),
        (cy, j2, "completed", 8, 400, "advance", "0.61"),
        (cy, j2, "failed", 9, None, None, None),
    ]
    ids = []
    for cand, job, status, day, duration, decision, cost in plan:
        ids.append(
            add_call(
                db,
                cand,
                job,
                status=status,
                created_at=T0 + timedelta(days=day),
                duration=duration,
                decision=decision,
                cost=cost,
            )
        )
    return {"db": db, "jobs": (j1, j2), "cands": (ann, anna, bob, cy), "calls": ids}


def ids_of(rows):
    return [r.id for r in rows]


def listed(*args, **kwargs):
    """list_calls as (rows, total)."""
    page = call_list.list_calls(*args, **kwargs)
    return page.data, page.count


def test_default_list_is_newest_first_with_names_and_costs(data):
    rows, total = listed(data["db"], F())
    assert total == 10
    assert ids_of(rows) == list(reversed(data["calls"]))
    first = rows[-1]
    assert (first.candidate, first.job, first.status) == (
        "Ann Archer",
        "Forklift driver",
        "completed",
    )
    assert first.cost == Decimal("0.42") and first.decision == "advance"
    assert rows[3].in_flight is True and rows[3].status == "in_progress"


def test_filters_job_status_decision_dates(data):
    db, (j1, j2), calls = data["db"], data["jobs"], data["calls"]
    assert call_list.list_calls(db, F(job_id=j2)).count == 4
    rows, total = listed(db, F(statuses=("busy", "no_answer")))
    assert total == 2 and set(ids_of(rows)) == {calls[2], calls[4]}
    rows, total = listed(db, F(decision="advance"))
    assert set(ids_of(rows)) == {calls[0], calls[8]}
    rows, total = listed(db, F(decision=review_filters.UNDECIDED, job_id=j1))
    assert set(ids_of(rows)) == {calls[2], calls[4], calls[5], calls[6]}
    lo, hi = review_filters.day_range(date(2026, 3, 4), date(2026, 3, 5), "UTC")
    rows, total = listed(db, F(date_from=lo, date_to=hi), sort="oldest")
    assert ids_of(rows) == [calls[2], calls[3]]


def test_day_range_uses_the_viewers_zone(data):
    # 2 March 15:00 UTC is 2 March in New York but the early morning of 3 March in Tokyo.
    db, calls = data["db"], data["calls"]
    lo, hi = review_filters.day_range(date(2026, 3, 3), date(2026, 3, 3), "Asia/Tokyo")
    assert calls[0] in ids_of(call_list.list_calls(db, F(date_from=lo, date_to=hi)).data)
    lo, hi = review_filters.day_range(date(2026, 3, 3), date(2026, 3, 3), "America/New_York")
    assert calls[0] not in ids_of(call_list.list_calls(db, F(date_from=lo, date_to=hi)).data)


def test_candidate_by_name_prefix_and_by_number(data):
    db, calls = data["db"], data["calls"]
    rows, _ = listed(db, F(candidate="  ann "))
    assert set(ids_of(rows)) == {calls[0], calls[1], calls[2], calls[3]}  # Ann and Anna
    rows, _ = listed(db, F(candidate="Anna"))
    assert set(ids_of(rows)) == {calls[2], calls[3]}
    admin = auth.get_user(db, "seeder")  # a number search is for roles that see numbers
    rows, _ = listed(db, F(candidate="(201) 555-0103"), user=admin)  # Bob, any format
    assert set(ids_of(rows)) == {calls[4], calls[5], calls[6]}
    assert call_list.list_calls(db, F(candidate="Zed")) == Page(data=[], count=0)
    assert call_list.list_calls(db, F(candidate="a.*")) == Page(data=[], count=0)  # a regex is only text
    with pytest.raises(review_filters.ReviewError):
        call_list.list_calls(db, F(candidate="555 555 5555 555"), user=admin)
    with pytest.raises(review_filters.ReviewError, match="cannot search by phone"):
        call_list.list_calls(db, F(candidate="(201) 555-0103"))  # a viewer, or nobody


def test_sort_and_pagination(data):
    db, calls = data["db"], data["calls"]
    pages = [call_list.list_calls(db, F(), "oldest", page, 4) for page in (1, 2, 3)]
    assert [p.count for p in pages] == [10, 10, 10]
    assert sum((ids_of(p.data) for p in pages), []) == calls
    assert len(pages[2].data) == 2 and call_list.page_count(10, 4) == 3
    rows, _ = listed(db, F(statuses=("completed",)), "longest", 1, 2)
    assert [r.duration_seconds for r in rows] == [400, 300]
    assert len(call_list.list_calls(db, F(), page_size=10_000).data) == 10  # capped, not refused
    with pytest.raises(review_filters.ReviewError):
        call_list.list_calls(db, F(), sort="$where")
    with pytest.raises(review_filters.ReviewError):
        call_list.list_calls(db, F(statuses=("nope",)))


def test_detail_timeline_questions_and_redaction(db):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann Archer", "+12015550101", [job])
    call_id = add_call(db, cand, job, events=True, telephony_price="0.0130", price_unit="USD")
    recruiter, viewer = make_user(db, "recruiter"), make_user(db, "viewer")
    review_decisions.save_review(db, recruiter, call_id, "hold", {1: 3}, 3, "call back")

    full = review_detail.call_detail(db, call_id, recruiter)
    assert full.candidate.phone == "+12015550101"
    assert full.review.notes == "call back" and full.can_review is True
    steps = [s.step for s in full.timeline]
    assert steps == ["queued", "dialled", "ringing", "answered", "ended", "billed", "priced"]
    assert full.timeline[2].at == T0 + timedelta(seconds=2)
    assert full.timeline[-1].detail == "Phone cost: 0.013 USD"
    assert [q.answer for q in full.questions] == [
        "About five years in a warehouse.",
        "In two weeks.",
        "Yes, weekends are fine.",
    ]
    assert full.questions[1].asked_at_s == 16.0
    assert [m.speaker for m in full.transcript[:2]] == ["agent", "candidate"]

    redacted = review_detail.call_detail(db, call_id, viewer)
    assert redacted.candidate.phone == "+1…0101"
    assert redacted.review.notes is None and redacted.can_review is False
    assert review_detail.call_detail(db, call_id).candidate.phone == "+1…0101"
    assert review_detail.call_detail(db, "nope-not-there") is None
    assert review_detail.call_detail(db, {"$ne": ""}) is None  # type: ignore[arg-type]


def test_unasked_question_has_no_answer(db):
    job = add_job(db, "Cook")
    cand = add_candidate(db, "Cy", "+12015550104", [job])
    call_id = add_call(db, cand, job, messages=conversation(["Ten years.", "Monday."])[:-1])
    detail = review_detail.call_detail(db, call_id)
    assert [q.asked for q in detail.questions] == [True, True, False]
    assert detail.questions[2].answer is None


def test_review_permissions_validation_and_audit(db):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann", "+12015550101", [job])
    call_id = add_call(db, cand, job)
    live_id = add_call(db, cand, job, status="in_progress", created_at=T0 + timedelta(days=1))
    viewer, recruiter, admin = (make_user(db, r) for r in ("viewer", "recruiter", "admin"))

    with pytest.raises(PermissionDenied):
        review_decisions.save_review(db, viewer, call_id, "advance", {}, 5)
    with pytest.raises(PermissionDenied):
        review_decisions.save_review(db, None, call_id, "advance", {}, 5)
    assert "review" not in db[CALLS].find_one({"_id": call_id})
    for bad in [
        dict(decision="maybe", overall=3),
        dict(decision="advance", overall=6),
        dict(decision="advance", overall=None),
        dict(decision="advance", overall=3, ratings={4: 3}),
        dict(decision="advance", overall=3, ratings={1: 0}),
        dict(decision="advance", overall=2.5),
        dict(decision="advance", overall=3, notes="x" * 6000),
    ]:
        with pytest.raises(review_filters.ReviewError):
            review_decisions.save_review(db, recruiter, call_id, **bad)
    with pytest.raises(review_filters.ReviewError, match="not ended"):
        review_decisions.save_review(db, recruiter, live_id, "advance", {}, 3)

    review_decisions.save_review(db, recruiter, call_id, "hold", {1: 3, "2": "4", 3: None}, 3, "unsure")
    review_decisions.save_review(db, admin, call_id, "advance", {1: 5, 2: 4}, 5, "unsure")
    stored = db[CALLS].find_one({"_id": call_id})["review"]
    # Stored by question id within the call's snapshot (the form may still send positions).
    q1, q2 = (question_id(q["text"]) for q in QUESTIONS[:2])
    assert stored["decision"] == "advance" and stored["ratings"] == {q1: 5, q2: 4}
    assert stored["by"] == "admin1"
    entries = list(db[AUDIT_LOG].find({"entity": "call", "entity_id": call_id}).sort("at", 1))
    assert [e["actor"] for e in entries] == ["recruiter1", "admin1"]
    assert entries[0]["changes"]["decision"] == {"old": None, "new": "hold"}
    assert entries[1]["changes"] == {
        "decision": {"old": "hold", "new": "advance"},
        "overall": {"old": 3, "new": 5},
        f"rating_{q1}": {"old": 3, "new": 5},
    }


def _csv(raw: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_export_one_row_per_candidate_columns_by_role(data):
    db, (j1, _), calls = data["db"], data["jobs"], data["calls"]
    db[CALLS].update_one({"_id": calls[5]}, {"$set": {"summary": '=HYPERLINK("http://x")'}})
    recruiter, viewer = make_user(db, "recruiter"), make_user(db, "viewer")
    rows = _csv(review_exports.export_job_csv(db, recruiter, j1))
    # Job 1: Ann (1 call), Anna (no answer + hold), Bob (busy + completed; the live call is not
    # screened yet). One row per candidate; the reviewed or completed call speaks for them.
    assert [r["Candidate"] for r in rows] == ["Ann Archer", "Anna Bell", "Bob Stone"]
    ann, anna, bob = rows
    assert (ann["Decision"], ann["Overall rating"], ann["Q1 rating"]) == ("Advance", "4", "4")
    assert ann["Phone"] == "+12015550101" and ann["Review notes"] == "seeded note"
    assert (anna["Attempts"], anna["Decision"]) == ("2", "On hold")
    assert (bob["Duration (seconds)"], bob["Cost"], bob["Outcome"]) == ("250", "0.35", outcome_text(
        Call.model_validate(db[CALLS].find_one({"_id": calls[5]}))))
    assert bob["Outcome"].startswith("Completed")
    assert bob["Summary"].startswith("'=")  # never a live formula in a spreadsheet
    assert ann["Summary"] == "Answered every question." and ann["Started"] == "2 Mar 2026, 15:00 UTC"
    # People read the sheet: no internal ids and no stored codes in any cell or heading.
    flat = " ".join([*rows[0].keys(), *(v for r in rows for v in r.values())])
    assert not any(call_id in flat for call_id in calls) and "completed" not in flat.split()
    assert engineer_speak(flat) == []
    # Times in the reader's zone.
    paris = _csv(review_exports.export_job_csv(db, recruiter, j1, zone="Europe/Paris"))
    assert paris[0]["Started"] == "2 Mar 2026, 16:00 CET"

    seen = _csv(review_exports.export_job_csv(db, viewer, j1))
    assert "Phone" not in seen[0] and "Review notes" not in seen[0]
    assert [r["Decision"] for r in seen] == ["Advance", "On hold", ""]
    assert db[AUDIT_LOG].count_documents({"action": "job.export_csv"}) == 3
    with pytest.raises(PermissionDenied):
        review_exports.export_job_csv(db, None, j1)
    with pytest.raises(review_filters.ReviewError):
        review_exports.export_job_csv(db, recruiter, "no-such-job")


def test_transcript_text(db):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann Archer", "+12015550101", [job])
    call_id = add_call(db, cand, job)
    text = review_exports.transcript_text(db, make_user(db, "viewer"), call_id)
    assert "Candidate: Ann Archer" in text and "Job: Forklift driver" in text
    assert "[00:16] Agent: Thanks. When could you start the new position?" in text
    assert "[00:20] Candidate: In two weeks." in text
    assert "+1201" not in text
    with pytest.raises(PermissionDenied):
        review_exports.transcript_text(db, None, call_id)


class FakeUltravox:
    def __init__(self, result=None, error=None):
        self.result, self.error, self.calls = result, error, 0

    def get_recording(self, call_id):
        self.calls += 1
        if self.error:
            raise self.error
        return self.result


def test_recording_fetched_once_cached_chunked_and_expires(db, monkeypatch):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann", "+12015550101", [job])
    call_id = add_call(db, cand, job)
    monkeypatch.setattr(recording_store, "_CHUNK_BYTES", 1000)
    audio = bytes(range(256)) * 10
    fake = FakeUltravox(Recording(audio, "audio/wav"))
    got = recordings.recording_bytes(db, call_id, client=fake, now=T0)
    again = recordings.recording_bytes(db, call_id, client=fake, now=T0 + timedelta(hours=1))
    assert got.content == again.content == audio and got.content_type == "audio/wav"
    assert again.cached and fake.calls == 1
    assert db[MEDIA_CACHE].count_documents({"call_id": call_id}) == 4  # head + 3 chunks
    recordings.recording_bytes(db, call_id, client=fake, now=T0 + recordings.RECORDING_TTL + timedelta(1))
    assert fake.calls == 2


def test_recording_states(db):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann", "+12015550101", [job])
    off = add_call(db, cand, job)
    db[CALLS].update_one({"_id": off}, {"$set": {"config_snapshot.config.recording_enabled": False}})
    live = add_call(db, cand, job, status="ringing", created_at=T0 + timedelta(days=1))
    fake = FakeUltravox(None)
    assert "turned off" in recordings.recording_bytes(db, off, client=fake).message
    assert "once the call has ended" in recordings.recording_bytes(db, live, client=fake).message
    assert fake.calls == 0
    none = add_call(db, cand, job, created_at=T0 + timedelta(days=2))
    result = recordings.recording_bytes(db, none, client=fake, now=T0)
    assert not result.available and "No recording" in result.message
    recordings.recording_bytes(db, none, client=fake, now=T0 + timedelta(seconds=30))
    assert fake.calls == 1  # "none yet" is cached briefly
    down = add_call(db, cand, job, created_at=T0 + timedelta(days=3))
    result = recordings.recording_bytes(
        db, down, client=FakeUltravox(error=ProviderUnavailable("Ultravox", "circuit open"))
    )
    assert "Ultravox is unavailable" in result.message
    assert recordings.recording_bytes(db, "../etc", client=fake).message == "That call does not exist."


def test_newest_first_through_time_windows_matches_a_full_sort(data, monkeypatch):
    db, (j1, _) = data["db"], data["jobs"]
    original = review_store._newest_in_window
    expected = [call_list.list_calls(db, F(), "newest", p, 3) for p in (1, 2, 3, 4)]
    expected_j1 = call_list.list_calls(db, F(job_id=j1), "newest", 2, 2)
    monkeypatch.setattr(review_store, "_WINDOW_MIN_TOTAL", 3)  # the window path for this small set
    assert [call_list.list_calls(db, F(), "newest", p, 3) for p in (1, 2, 3, 4)] == expected
    assert call_list.list_calls(db, F(job_id=j1), "newest", 2, 2) == expected_j1
    lo, hi = review_filters.day_range(date(2026, 3, 3), date(2026, 3, 9), "UTC")
    monkeypatch.setattr(review_store, "_WINDOW_MIN_TOTAL", 10_000)
    plain = call_list.list_calls(db, F(date_from=lo, date_to=hi), "newest", 1, 2)
    monkeypatch.setattr(review_store, "_WINDOW_MIN_TOTAL", 1)
    seen = []
    monkeypatch.setattr(review_store, "_newest_in_window", lambda *a: seen.append(a) or original(*a))
    assert call_list.list_calls(db, F(date_from=lo, date_to=hi), "newest", 1, 2) == plain
    assert [r.started_at.day for r in plain.data] == [9, 8] and seen


def test_a_search_reads_ids_then_the_page_and_agrees_with_the_plain_way(data, monkeypatch):
    # A name search reads the matching ids (the count and the order) and then one page by id;
    # every sort and page must equal what the count + find of the store give, also with other
    # filters, and past the cap it goes the plain way with the same answer.
    db = data["db"]
    ann, anna = data["cands"][:2]
    for flt in (F(candidate="ann"), F(candidate="ann", job_id=data["jobs"][0], statuses=("completed",)),
                F(candidate="ann", decision=review_filters.UNDECIDED)):
        for sort in review_filters.SORT_LABELS:
            for page in (1, 2, 3):
                got = call_list.list_calls(db, flt, sort, page, 1)
                plain = review_store.list_calls(db, flt, [ann, anna], sort=sort, skip=page - 1, size=1,
                                                total=0)
                assert ids_of(got.data) == [c.id for c in plain]
                assert got.count == review_store.count_calls(db, flt, [ann, anna])
    assert ids_of(call_list.list_calls(db, F(candidate="ann"), "oldest", 1, 4).data) == data["calls"][:4]
    monkeypatch.setattr(call_list, "MAX_SEARCH_ROWS", 2)  # four calls match: more than the cap
    assert review_store.few_matching_ids(db, F(candidate="ann"), [ann, anna], sort="newest", cap=2) is None
    got = call_list.list_calls(db, F(candidate="ann"), "oldest", 1, 3)
    assert got.count == 4 and ids_of(got.data) == data["calls"][:3]
