"""Erasure of a candidate on the real database and the sandbox: a real screening call (the
candidate asks not to be called again), a review, a cached recording, a batch that skipped them;
then the erasure leaves no trace of them in any collection, the providers received the deletions,
the tombstone holds only facts, and the number stays un-callable."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest

from core import auth
from core.calling import batches
from core.calling import store as call_store
from core.calling.refusals import LaunchRefused
from core.db import utcnow
from core.lifecycle import reconcile
from core.people import candidates, csv_import, holds
from core.privacy import access_export, erasure, provider_deletions
from core.review import decisions, recordings
from tests.support.live_calls import wait
from tests.support.sandbox_stack import launch, make_job, stack  # noqa: F401 - fixture

NAME = "Quentin Marlowe-Zed"
E164 = "+14155550103"  # sandbox: a whole conversation, every question answered
NATIONAL = ("(415) 555-0103", "415-555-0103", "4155550103", "415 555 0103")
EMAIL = "q.marlowe@example.org"
REASON = "Erasure request received by post, ticket 4411"


def _dump(db) -> dict[str, list[str]]:
    """Every document of every collection, as text (encryption is off in tests)."""
    return {name: [str(d) for d in db[name].find()] for name in sorted(db.list_collection_names())}


def _traces(db, needles: list[str]) -> list[str]:
    found = []
    for name, docs in _dump(db).items():
        for text in docs:
            found += [f"{name}: {n!r}" for n in needles if n.casefold() in text.casefold()]
            if "0103" in text and any(w.casefold() in text.casefold() for w in ("Quentin", "Marlowe")):
                found.append(f"{name}: last four digits with the name")
    return found


def _settled(doc) -> bool:
    # Everything a finished call gets here (the opt-out call may end too soon for a summary).
    return bool(doc and doc.get("status") == "completed" and doc.get("transcript_status") == "stored"
                and doc.get("followup_done_at") and doc.get("telephony_price") and doc.get("message_count"))


def _screened_candidate(stack):  # noqa: F811
    # Slower than the stack's 200x, whose Ultravox join timeout is too short for a whole conversation.
    stack.sandbox.state.config.speed = 40
    job = make_job(stack)
    cand = candidates.add_candidate(stack.db, stack.admin, name=NAME, phone=E164, email=EMAIL,
                                    timezone="America/Los_Angeles", consent=True,
                                    notes="Met Quentin at the spring fair", job_ids=[job.id])
    call = launch(stack, cand.id).call
    def settled():
        found = stack.db["calls"].find_one({"_id": call.id})
        return found if _settled(found) else None

    doc = wait(settled, 60,
               step=lambda: reconcile.run_once(stack.db))
    assert doc, {k: v for k, v in stack.db["calls"].find_one({"_id": call.id}).items()
                 if k in ("status", "transcript_status", "summary", "billing_status", "telephony_price",
                          "followup_done_at")}
    decisions.save_review(stack.db, stack.admin, call.id, "reject", {}, 2, "Quentin asked us to stop")
    assert recordings.recording_bytes(stack.db, call.id).available  # now in the media cache
    # They phoned afterwards to say stop: on the list by hand, the reason quoting them.
    candidates.set_do_not_call(stack.db, stack.admin, cand.id, True, reason="Quentin phoned: stop calling")
    batch = batches.create_batch(stack.db, stack.admin, job.id, [cand.id])
    assert batch.skipped and batch.skipped[0].name == NAME
    return job, cand, doc


def test_erasure_leaves_no_trace_and_keeps_do_not_call(stack, tmp_path, artifacts_dir) -> None:  # noqa: F811
    db = stack.db
    job, cand, call = _screened_candidate(stack)
    assert candidates.get_candidate(db, cand.id).do_not_call
    other = candidates.add_candidate(db, stack.admin, name="Olive Other", phone="+14155550101",
                                     job_ids=[job.id])
    said = next(m["text"] for m in db["call_transcripts"].find_one({"_id": call["_id"]})["messages"]
                if m["role"] == "user" and len(m["text"]) > 20)
    needles = [NAME, "Quentin", "Marlowe", E164, *NATIONAL, EMAIL, said, "spring fair"]
    assert _traces(db, needles)  # everything is there before

    # The access export: the JSON and the recording, matching what is stored.
    made = access_export.export_candidate(db, stack.admin, cand.id)
    with zipfile.ZipFile(io.BytesIO(made.content)) as archive:
        data = json.loads(archive.read(access_export.JSON_NAME))
        audio = archive.read(f"recordings/{call['_id']}.wav")
    assert data["candidate"]["name"] == NAME and data["candidate"]["phone"] == E164
    assert data["candidate"]["email"] == EMAIL and "phone_hash" not in data["candidate"]
    (shown,) = data["calls"]
    assert shown["id"] == call["_id"] and shown["status"] == "completed" and shown["decision"] == "reject"
    assert said in [m["text"] for m in shown["transcript"]] and shown["summary"] == call.get("summary")
    assert len(shown["answers"]) == len(call["agent_answers"]) > 0
    assert {a["answer"] for a in shown["answers"]} == {a["answer"] for a in call["agent_answers"].values()}
    needles += [a["answer"] for a in call["agent_answers"].values() if len(a["answer"]) > 12]
    assert shown["review"]["notes"] == "Quentin asked us to stop"
    assert shown["events"] and shown["costs"]["currency"]
    assert audio == recordings.recording_bytes(db, call["_id"]).content and made.recordings == 1
    assert {"candidate.create", "candidate.do_not_call"} <= {e["action"] for e in data["audit"]}
    export_entry = db["audit_log"].find_one({"action": "candidate.export"})
    assert export_entry["entity_id"] == cand.id and NAME not in str(export_entry)

    # Refused, changing nothing: a recruiter, no confirmation, a wrong name, a reason naming them,
    # a legal hold on the candidate or on their job.
    before = _dump(db)
    with pytest.raises(auth.PermissionDenied):
        erasure.erase_candidate(db, stack.recruiter, cand.id, reason=REASON, confirmed=True)
    for kwargs, words in (({"confirmed": False}, "Confirm"), ({"typed_name": "Quentin"}, "does not match"),
                          ({"reason": "Quentin wrote to us"}, "must not name")):
        with pytest.raises(erasure.ErasureRefused, match=words):
            erasure.erase_candidate(db, stack.admin, cand.id,
                                    **{"reason": REASON, "confirmed": True, **kwargs})
    # The hold is placed and lifted as an admin does it (core.people.holds), audited both ways.
    for kind, key in (("candidate", cand.id), ("job", job.id)):
        holds.place_hold(db, stack.admin, kind, key, "litigation, case 7")
        snapshot = _dump(db)
        # A job's hold names the job, so the admin knows which hold to ask about.
        refusal = "The candidate is on legal hold" if kind == "candidate" else f"legal hold \\({job.title}\\)"
        with pytest.raises(erasure.ErasureRefused, match=refusal):
            erasure.erase_candidate(db, stack.admin, cand.id, reason=REASON, confirmed=True, typed_name=NAME)
        assert _dump(db) == snapshot
        holds.lift_hold(db, stack.admin, kind, key, "case 7 settled")
    unchanged = {"jobs", "candidates", "audit_log"}  # the holds came and went, audited
    assert {k: v for k, v in _dump(db).items() if k not in unchanged} == {
        k: v for k, v in before.items() if k not in unchanged}

    done = erasure.erase_candidate(db, stack.admin, cand.id, reason=REASON, confirmed=True,
                                   typed_name=f"  {NAME.upper()} ")
    assert done.tombstone["state"] == "done" and not done.pending_at_providers

    # No trace anywhere, in any collection; the other candidate is untouched.
    assert _traces(db, needles) == []
    assert candidates.get_candidate(db, other.id).name == "Olive Other"
    kept = db["calls"].find_one({"_id": call["_id"]})
    assert kept["status"] == "completed" and kept["costs"] and kept["erased_at"]
    assert not {"review", "summary", "agent_answers", "request_body", "ultravox_call_id"} & set(kept)
    # The providers deleted the call.
    assert [r for r in stack.sandbox.received("ultravox", "delete_call")]
    assert [r for r in stack.sandbox.received("twilio", "delete_call")]
    assert call["ultravox_call_id"] in stack.sandbox.state.deleted_ultravox_calls
    assert call["twilio_call_sid"] in stack.sandbox.state.deleted_twilio_calls

    # The tombstone: the facts only.
    tomb = db["erasures"].find_one({"candidate_id": cand.id})
    assert tomb["erased_by"] == "admin1" and tomb["reason"] == REASON and tomb["do_not_call_kept"] is True
    removed = tomb["removed"]
    assert removed["calls"] == 1 and removed["candidate"] == 1 and removed["events"] > 0
    assert tomb["providers"] == {"ultravox": {"deleted": 1}, "twilio": {"deleted": 1}}
    assert tomb["pending"] == {"ultravox": [], "twilio": []}
    (artifacts_dir / "erasure-tombstone.json").write_text(json.dumps(tomb, default=str, indent=2))
    entry = db["audit_log"].find_one({"action": "candidate.erase"})
    assert entry["entity_id"] == tomb["_id"] and entry["actor"] == "admin1"

    # Never called again: add, import (any format), a change of number, a demo seed: all refused.
    dials = len(stack.dials())
    with pytest.raises(candidates.CandidateError, match="do-not-call"):
        candidates.add_candidate(db, stack.admin, name="Someone New", phone=NATIONAL[0])
    with pytest.raises(candidates.CandidateError, match="do-not-call"):
        candidates.update_candidate(db, stack.admin, other.id, phone=E164)
    with pytest.raises(candidates.CandidateError, match="do-not-call"):
        candidates.upsert_demo_candidate(db, name="Demo", phone=E164, job_id=job.id)
    csv = f"name,phone\nRe Imported,{NATIONAL[0]}\nFresh Face,+14155550102\n".encode()
    result = csv_import.commit_import(db, stack.admin, job.id, csv)
    assert result.created == 1 and result.rejected == 1
    (row,) = [r for r in result.report.rows if r.status == "rejected"]
    assert "do-not-call" in row.reason
    assert candidates.find_by_phone(db, E164) is None
    # Even a record slipped in behind the checks' back is never dialled.
    doc = candidates.new_document(name="Sneaky", phone=E164, email="", timezone="", consent=True, notes="",
                                  job_ids=[job.id], source="manual", actor="x")
    db["candidates"].insert_one(doc)
    with pytest.raises(LaunchRefused, match="do-not-call"):
        launch(stack, doc["_id"])
    assert len(stack.dials()) == dials

    # Nothing to export or erase any more.
    db["candidates"].delete_one({"_id": doc["_id"]})
    with pytest.raises(access_export.ExportRefused, match="erased"):
        access_export.export_candidate(db, stack.admin, cand.id)
    with pytest.raises(erasure.ErasureRefused, match="already erased"):
        erasure.erase_candidate(db, stack.admin, cand.id, reason=REASON, confirmed=True)


def test_provider_failures_leave_the_erasure_pending_until_the_worker_finishes_it(stack) -> None:  # noqa: F811
    db = stack.db
    job = make_job(stack)
    stack.sandbox.state.config.speed = 40
    cand = candidates.add_candidate(db, stack.admin, name="Pia Pending", phone="+14155550104", consent=True,
                                    job_ids=[job.id])
    call = launch(stack, cand.id).call
    assert wait(lambda: _settled(db["calls"].find_one({"_id": call.id})), 60,
                step=lambda: reconcile.run_once(db))
    stack.sandbox.inject_fault(status=503, count=50, path_prefix="/api/calls/", method="DELETE")
    done = erasure.erase_candidate(db, stack.admin, cand.id, reason="Data subject request 77", confirmed=True)
    assert done.pending_at_providers and erasure.pending_erasures(db) == 1
    tomb = done.tombstone
    assert len(tomb["pending"]["ultravox"]) == 1 and tomb["provider_error"]
    assert "Pia" not in str(tomb) and "+14155550104" not in str(tomb)
    # Not due yet: the worker waits before retrying.
    assert provider_deletions.run_once(db, now=utcnow()) == ""
    stack.sandbox.clear_faults()
    report = provider_deletions.run_once(db, now=utcnow() + timedelta(hours=2))
    assert "0 still pending" in report
    tomb = db["erasures"].find_one({"_id": done.erasure_id})
    assert tomb["state"] == "done" and tomb["providers"]["ultravox"] == {"deleted": 1}
    assert tomb["providers_done_at"] and erasure.pending_erasures(db) == 0
    assert call.id and db["calls"].find_one({"_id": call.id}).get("ultravox_call_id") is None
    batches_logged = [e["detail"] for e in db["audit_log"].find({"action": "erasure.batch"})]
    assert len(batches_logged) == 2 and "retried later" in batches_logged[0]


def test_open_calls_refuse_the_erasure(db) -> None:
    admin = auth.create_user(db, "boss", "a-long-password-1", "admin", actor=auth.OPERATOR)
    from core.people import jobs

    job = jobs.create_job(db, admin, title="Picker", company="Acme")
    cand = candidates.add_candidate(db, admin, name="Quinn Queued", phone="+14155550105", job_ids=[job.id])
    assert call_store.insert_call(db, call_store.new_call_doc(cand.id, job.id, actor="boss"))
    with pytest.raises(erasure.ErasureRefused, match="1 queued call"):
        erasure.erase_candidate(db, admin, cand.id, reason="Candidate request 12", confirmed=True)
    assert candidates.get_candidate(db, cand.id).name == "Quinn Queued"
    assert db["erasures"].count_documents({}) == 0
