"""The calls & transcripts page through AppTest: list, detail, inert transcript, review, export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from core import auth
from core.agent.questions import question_id
from core.db import CALLS, utcnow
from core.review import recording_store, recordings
from tests.support.apptest import MARKDOWN_KINDS, TIMEOUT, make_user, page_path, signed_in, texts
from tests.support.review_seed import QUESTIONS, T0, add_call, add_candidate, add_job

PAGE = page_path("transcripts")
PAYLOADS = [
    "<script>alert('xss')</script>",
    "[click here](http://evil.example/phish)",
    "![pixel](http://evil.example/track.png)",
    "<img src=x onerror=alert(1)>",
    "**bold** _it_ # heading `code` <b>tag</b>",
    ":red[danger] :material/warning: $x^2$ www.evil.example",
]


def app(user, call_id: str | None = None) -> AppTest:
    at = signed_in(AppTest.from_file(PAGE, default_timeout=TIMEOUT), user)
    if call_id is not None:
        at.query_params["call"] = call_id
    return at.run()


def table_rows(at: AppTest) -> list[dict]:
    frame = next(df for df in at.dataframe if df.proto.id.endswith("transcripts.table"))
    return frame.value.to_dict("records")


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def seed_calls(db, count: int) -> tuple[str, str, list[str]]:
    j1, j2 = add_job(db, "Forklift driver"), add_job(db, "Night cook")
    ann = add_candidate(db, "Ann Archer", "+12015550101", [j1, j2])
    bob = add_candidate(db, "Bob Stone", "+12015550103", [j1, j2])
    ids = [
        add_call(
            db,
            (ann, bob)[i % 2],
            (j1, j2)[i % 3 == 0],
            created_at=T0 + timedelta(hours=i),
            ultravox_call_id=None,
            decision="advance" if i % 5 == 0 else None,
        )
        for i in range(count)
    ]
    return j1, j2, ids


def test_list_filters_and_pagination(db):
    j1, j2, ids = seed_calls(db, 30)
    at = app(make_user(db, "viewer"))
    assert not at.exception
    rows = table_rows(at)
    assert len(rows) == 25 and "Page 1 of 2 · 30 calls" in texts(at)
    assert rows[0]["Started"].startswith("3 Mar 2026, 20:00")  # newest first, UTC by default
    button(at, "Next →").click().run()
    assert len(table_rows(at)) == 5 and "Page 2 of 2" in texts(at)

    at.selectbox(key="transcripts.job").set_value(j2)
    at.text_input(key="transcripts.candidate").input("bob")
    button(at, "Apply filters").click().run()
    rows = table_rows(at)
    expected = [i for n, i in enumerate(ids) if n % 3 == 0 and n % 2 == 1]
    assert len(rows) == len(expected) == 5 and {r["Candidate"] for r in rows} == {"Bob Stone"}
    assert {r["Job"] for r in rows} == {"Night cook"} and "Page 1 of 1" in texts(at)

    at.selectbox(key="transcripts.decision").set_value("advance")
    at.text_input(key="transcripts.candidate").input("")
    button(at, "Apply filters").click().run()
    assert {r["Decision"] for r in table_rows(at)} == {"advance"}

    at.text_input(key="transcripts.candidate").input("nobody")
    button(at, "Apply filters").click().run()
    assert "No calls match" in texts(at)


def test_times_follow_the_chosen_zone_and_rows_open_the_detail(db):
    _, _, ids = seed_calls(db, 2)
    user = make_user(db, "recruiter")
    auth.set_own_time_zone(db, user, "America/New_York")  # the zone chosen on My account
    at = app(auth.get_user(db, user.username))
    assert table_rows(at)[0]["Started"] == "2 Mar 2026, 11:00 EST"
    at.selectbox(key="transcripts.open_choice").set_value(ids[0])
    button(at, "Open call").click().run()
    assert at.query_params["call"] == [ids[0]] or at.query_params["call"] == ids[0]
    assert "Ann Archer · Night cook" in texts(at)


def test_hostile_transcript_and_summary_render_as_text(db):
    job = add_job(db, "Forklift <b>driver</b>")
    cand = add_candidate(db, "Eve [boss](http://evil.example)", "+12015550105", [job])
    messages = [
        {
            "role": "agent" if n % 2 else "user",
            "text": p,
            "medium": "voice",
            "start_s": float(n),
            "end_s": n + 1.0,
        }
        for n, p in enumerate(PAYLOADS)
    ]
    call_id = add_call(
        db,
        cand,
        job,
        messages=messages,
        ultravox_call_id=None,
        summary=PAYLOADS[0] + " " + PAYLOADS[1],
        short_summary=PAYLOADS[2],
        failure_reason="<i>x</i>",
    )
    at = app(make_user(db, "recruiter"), call_id)
    assert not at.exception
    shown = [t.value for t in at.text]
    for payload in PAYLOADS:
        assert payload in shown, payload
    assert PAYLOADS[0] + " " + PAYLOADS[1] in shown and PAYLOADS[2] in shown
    names = {c.proto.name for c in at.get("chat_message")} if hasattr(at, "get") else set()
    assert {"assistant", "user"} <= names
    for kind in MARKDOWN_KINDS:
        for el in getattr(at, kind):
            value = str(el.value)
            assert not re.search(r"(?<!\\)[<>\[\]]", value), (kind, value)
            assert "http://" not in value, (kind, value)
    assert "Eve" in texts(at)


def test_in_flight_call_detail_and_list_refresh(db):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann", "+12015550101", [job])
    live = add_call(db, cand, job, status="ringing")
    user = make_user(db, "recruiter")
    at = app(user, live)
    assert not at.exception and "this view updates by itself" in texts(at)
    assert not [b for b in at.button if b.label == "Save review"]
    at = app(user)
    assert "refreshing every" in texts(at)


@pytest.mark.parametrize("role", ["viewer", "recruiter"])
def test_review_form_by_role(db, role):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann", "+12015550101", [job])
    call_id = add_call(db, cand, job, ultravox_call_id=None)
    user = make_user(db, role)
    at = app(user, call_id)
    assert not at.exception
    if role == "viewer":
        assert "can read reviews but not change them" in texts(at)
        assert not [b for b in at.button if b.label == "Save review"]
        assert "Phone: +1…0101" in texts(at)
        return
    assert "Phone: +12015550101" in texts(at)
    key = f"transcripts.review.{call_id}"
    at.radio(key=f"{key}.decision").set_value("advance")
    at.selectbox(key=f"{key}.q1").set_value(5)
    at.selectbox(key=f"{key}.overall").set_value(4)
    at.text_area(key=f"{key}.notes").input("Strong <b>answers</b>")
    button(at, "Save review").click().run()
    assert not at.exception and "Review saved." in texts(at)
    stored = db[CALLS].find_one({"_id": call_id})["review"]
    assert (stored["decision"], stored["ratings"], stored["overall"], stored["by"]) == (
        "advance",
        {question_id(QUESTIONS[0]["text"]): 5},  # keyed by the question's id in the snapshot
        4,
        user.username,
    )
    assert "Strong <b>answers</b>" in [t.value for t in at.text]
    at = app(user)
    assert table_rows(at)[0]["Decision"] == "advance"


def test_review_without_overall_shows_the_error(db):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann", "+12015550101", [job])
    call_id = add_call(db, cand, job, ultravox_call_id=None)
    at = app(make_user(db, "recruiter"), call_id)
    at.radio(key=f"transcripts.review.{call_id}.decision").set_value("reject")
    button(at, "Save review").click().run()
    assert "overall rating" in texts(at)
    assert "review" not in db[CALLS].find_one({"_id": call_id})


@pytest.fixture
def deferred(monkeypatch):
    """Callables given to deferred download buttons, captured so a test can run them."""
    captured = []
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, *args, **kwargs):
        captured.append(data_callable)
        return original(self, data_callable, *args, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return captured


@pytest.mark.parametrize("role", ["viewer", "recruiter"])
def test_export_from_the_page_matches_the_data_for_the_role(db, deferred, role):
    j1, _, _ = seed_calls(db, 6)
    at = app(make_user(db, role))
    at.selectbox(key="transcripts.job").set_value(j1)
    button(at, "Apply filters").click().run()
    assert [b.label for b in at.get("download_button")] == ["Download CSV of this job's screened candidates"]
    rows = list(csv.DictReader(io.StringIO(deferred[-1]().decode("utf-8-sig"))))
    assert [r["Candidate"] for r in rows] == ["Ann Archer", "Bob Stone"]
    assert {r["Job"] for r in rows} == {db["jobs"].find_one({"_id": j1})["title"]}
    assert ("Phone" in rows[0]) is (role == "recruiter")
    assert ("Review notes" in rows[0]) is (role == "recruiter")


def test_transcript_download_and_recording_from_cache(db):
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann", "+12015550101", [job])
    call_id = add_call(db, cand, job)
    now = utcnow()
    recording_store.cache_recording(db, call_id, now, content=b"RIFF....WAVEfmt ", content_type="audio/wav",
                                    expires_at=now + recordings.RECORDING_TTL)
    at = app(make_user(db, "viewer"), call_id)
    assert not at.exception
    assert len(at.get("audio")) == 1
    assert [b.label for b in at.get("download_button")] == ["Download transcript (.txt)"]

    other = add_call(db, cand, job, created_at=T0 + timedelta(days=1), ultravox_call_id=None)
    at = app(make_user(db, "recruiter"), other)
    assert not at.get("audio") and "never reached the voice agent" in texts(at)


@pytest.mark.parametrize("param", ["<script>", "a" * 65, "../../etc/passwd"])
def test_bad_deep_links(db, param):
    at = app(make_user(db, "viewer"), param)
    assert not at.exception and "does not point to a call" in texts(at)


def test_unknown_call_and_signed_out(db):
    at = app(make_user(db, "viewer"), "0123456789abcdef")
    assert "no call with that id" in texts(at)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert "Please log in" in texts(at) and not at.dataframe


def test_the_call_page_shows_the_candidates_clock_beside_the_viewers(db):
    _, _, ids = seed_calls(db, 1)
    at = app(make_user(db, "recruiter"), call_id=ids[0])  # reads times in UTC (no choice, no browser)
    assert "Started: 2 Mar 2026, 15:00 UTC (10:00 for the candidate, New York)" in texts(at)
