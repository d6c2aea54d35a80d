"""The retention purge also removes what carries the candidate's name and words: summaries in
stored webhooks, the prompt and spoken texts kept with the call, and the personal text of
audit entries (the audit facts stay)."""

from __future__ import annotations

import json
from datetime import timedelta

from core import audit, auth
from core.agent import settings as agent_settings
from core.calling.dialing import build_request_body
from core.db import AUDIT_LOG, CALL_EVENTS, CALLS, new_id, utcnow
from core.documents.call import Call
from core.lifecycle import opt_out
from core.lifecycle import store as lifecycle_store
from core.people import candidates, jobs
from core.review import decisions, retention


def _dialled_call(db, cand, job) -> str:
    """A call as dialing leaves it (snapshot, prompt, request body), ended, with its webhook."""
    call_id = new_id()
    snapshot = agent_settings.snapshot_for_call(db, job.id, cand.name, job.title, job.company)
    body = build_request_body(snapshot, call_id=call_id, candidate_id=cand.id, job_id=job.id, ring_timeout=30)
    now = utcnow()
    db[CALLS].insert_one({
        "_id": call_id, "candidate_id": cand.id, "job_id": job.id, "status": "completed",
        "created_at": now, "ended_at": now, "rendered_prompt": snapshot["rendered_prompt"],
        "request_body": body, "costs": {"currency": "USD", "total": "0.10", "total_micros": 100000},
        "config_snapshot": {k: v for k, v in snapshot.items() if k not in ("rendered_prompt", "ultravox")},
    })
    lifecycle_store.record_agent_end(db, call_id, fields={"summary": "Zoe Quill has a forklift licence.",
                                                          "short_summary": "Zoe Quill: good fit."},
                                     ended_at=now)
    lifecycle_store.insert_event(db, {
        "_id": new_id(), "dedupe_key": f"uv:{call_id}:call.ended", "provider": "ultravox",
        "kind": "call.ended", "call_id": call_id, "received_at": now,
        "payload": {"event": "call.ended", "call": {"summary": "Zoe Quill has a forklift licence.",
                                                     "shortSummary": "Zoe Quill: good fit.",
                                                     "endReason": "hangup"}}})
    return call_id


def test_purge_removes_the_name_and_words_everywhere_and_keeps_the_facts(db) -> None:
    admin = auth.create_user(db, "boss", "a-long-password-1", "admin", actor=auth.OPERATOR)
    job = jobs.create_job(db, admin, title="Forklift driver", company="Acme")
    cand = candidates.add_candidate(db, admin, name="Zoe Quill", phone="+14155550160", consent=True,
                                    job_ids=[job.id])
    call_id = _dialled_call(db, cand, job)
    decisions.save_review(db, admin, call_id, "advance", {}, 4, "Zoe Quill sounded keen")
    opt_out.mark_do_not_call(db, Call.model_validate(db[CALLS].find_one({"_id": call_id})),
                             "please stop calling me Zoe here")
    # An entry as the code before issue 13 wrote it: the old and new name in clear.
    audit.record(db, actor="boss", action="candidate.update", entity="candidate", entity_id=cand.id,
                 changes={"name": {"old": "Zoe Q", "new": "Zoe Quill"},
                          "timezone": {"old": "", "new": "UTC"}})
    stored = json.dumps([list(db[c].find()) for c in (CALLS, CALL_EVENTS, AUDIT_LOG)], default=str)
    assert "Zoe" in stored  # the name was there before the purge

    summary = retention.purge_expired(db, now=utcnow() + timedelta(days=40), retention_days=30)
    assert "purged 1 call" in summary and "audit entr" in summary

    call = db[CALLS].find_one({"_id": call_id})
    event = db[CALL_EVENTS].find_one({"call_id": call_id})
    entries = list(db[AUDIT_LOG].find({"entity_id": {"$in": [call_id, cand.id]}}))
    # The review stays with the call (the hiring record, as before); everything else loses the name.
    assert call.pop("review")["notes"] == "Zoe Quill sounded keen"
    left = json.dumps([call, event, entries], default=str)
    assert "Zoe" not in left and "Quill" not in left and "stop calling" not in left
    # The facts stay: outcome, costs, review decision, the settings used, who did what when.
    assert call["status"] == "completed" and call["costs"]["currency"] == "USD"
    assert call["config_snapshot"]["config"]
    assert call["request_body"]["metadata"]["screeningId"] == call_id
    assert event["payload"]["call"]["endReason"] == "hangup" and event["kind"] == "call.ended"
    actions = {e["action"] for e in entries}
    assert {"call.review", "candidate.do_not_call", "candidate.update", "candidate.create"} <= actions
    review = next(e for e in entries if e["action"] == "call.review")
    assert review["changes"]["decision"] == {"old": None, "new": "advance"} and review["actor"] == "boss"
    update = next(e for e in entries if e["action"] == "candidate.update")
    assert update["changes"]["timezone"] == {"old": "", "new": "UTC"}
    spoken = next(e for e in entries if e["action"] == "candidate.do_not_call")
    assert spoken["detail"].startswith(f"spoken opt-out on call {call_id}")
    # The candidate's own record is not the purge's: it stays as long as the candidate does.
    assert candidates.get_candidate(db, cand.id).name == "Zoe Quill"
    assert retention.purge_expired(db, now=utcnow() + timedelta(days=40), retention_days=30) == ""
