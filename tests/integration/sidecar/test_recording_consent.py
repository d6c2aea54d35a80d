"""Recording consent on whole sandbox calls: the real database, sidecar and sandbox over HTTP."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from streamlit.testing.v1 import AppTest

from core.agent.models import ConsentMethod, ConsentScope
from core.agent.questions import ScreeningQuestion
from core.calling import launch
from core.compliance import reports
from core.compliance.recording_consent import ALERT_AFTER_TRIES, ASK_RULE
from core.config import get_settings
from core.db import AUDIT_LOG, CALL_EVENTS, CALLS, MEDIA_CACHE, TOOL_REQUESTS, TRANSCRIPTS, utcnow
from core.lifecycle import followup
from core.people import candidates
from core.review import recording_links, recordings
from core.review import store as review_store
from core.review.timeline import transcript_messages
from core.screening.tools import TOOL_HEADER, call_key
from sidecar.app import create_app
from tests.factories import insert_launched_call
from tests.support import sandbox_stack
from tests.support.apptest import TIMEOUT, page_path, signed_in
from tests.support.sandbox_stack import Stack, make_job

stack = sandbox_stack.stack

QUESTIONS = [
    ScreeningQuestion(text="Are you authorised to work in the US?", type="yes_no"),
    ScreeningQuestion(text="Which shift would you prefer?", type="choice", options=["days", "nights"]),
]
DISCLOSURE = "This call is recorded and handled by an AI assistant for the hiring team."


def _doc(stack: Stack, call_id: str) -> dict:
    return stack.db[CALLS].find_one({"_id": call_id}) or {}


def _place(stack: Stack, phone: str, *, advance: bool = False, **config):
    """Place one call to `phone` and wait until its transcript is settled (stored or not kept)."""
    stack.sandbox.state.config.speed = 40
    stack.set_config(screening_questions=QUESTIONS, recording_disclosure=DISCLOSURE, **config)
    job = make_job(stack)
    cand = candidates.add_candidate(stack.db, stack.recruiter, name="Rita Record", consent=True,
                                    phone=phone, job_ids=[job.id], timezone="America/New_York")
    if advance:
        candidates.update_candidate(stack.db, stack.recruiter, cand.id, recording_consent=True)
    call = launch.launch_call(stack.db, stack.recruiter, cand.id).call
    stack.sandbox.wait_for(
        lambda: _doc(stack, call.id).get("transcript_status") in ("stored", "not_kept"), 30)
    return call.id


def _settle(stack: Stack, call_id: str) -> dict:
    """Run the follow-up as the worker would when it is due (never beside the sidecar's own run,
    which holds a lease) until the call needs nothing more."""
    def done() -> bool:
        doc = _doc(stack, call_id)
        if doc.get("followup_done_at") and not doc.get("needs_followup"):
            return True
        if doc.get("followup_lease_until") is None:
            due = max(doc.get("followup_next_at") or utcnow(), utcnow()) + timedelta(seconds=1)
            followup.follow_up(stack.db, call_id, now=due)
        return False
    stack.sandbox.wait_for(done, 30)
    return _doc(stack, call_id)


def _create_body(stack: Stack, call_id: str) -> dict:
    return next(r["body"] for r in stack.sandbox.received("ultravox", "create_call")
                if r["body"]["metadata"]["screeningId"] == call_id)


def _tool_names(body: dict) -> list[str]:
    return [t.get("toolName") or t["temporaryTool"]["modelToolName"] for t in body["selectedTools"]]


def _requests_for(stack: Stack, op: str, uv_id: str) -> list[dict]:
    return [r for r in stack.sandbox.received("ultravox", op) if uv_id in r["path"]]


def _sidecar_recording(stack: Stack, call_id: str) -> requests.Response:
    token = recording_links.make_token(stack.recruiter, call_id)
    return requests.get(f"http://127.0.0.1:{stack.env['WEBHOOK_PORT']}/recordings/{call_id}",
                        params={"token": token}, timeout=10)


def test_a_refusal_keeps_the_answers_only_and_deletes_the_call_at_ultravox(stack) -> None:
    call_id = _place(stack, "+1 415 555 0159")  # California: every party must agree; 59 refuses
    body = _create_body(stack, call_id)
    assert "recordingConsent" in _tool_names(body) and body["recordingEnabled"] is True
    assert ASK_RULE in body["systemPrompt"] and ASK_RULE in _doc(stack, call_id)["rendered_prompt"]
    call = review_store.get_call(stack.db, call_id)
    consent = call.recording_consent
    assert (consent.needed, consent.mode, consent.place, consent.asked, consent.granted) == (
        True, "ask", "US-CA", True, False)
    assert consent.at is not None and "California" in consent.why
    assert stack.db[TOOL_REQUESTS].count_documents({"call_id": call_id, "tool": "recordingConsent"}) == 1
    assert stack.db[AUDIT_LOG].count_documents({"action": "recording.consent_refused",
                                                "entity_id": call_id}) == 1
    # The answers recorded through the tools are kept; the transcript is not (the default).
    assert len(call.agent_answers) == 2
    assert call.transcript_status == "not_kept" and call.message_count
    assert stack.db[TRANSCRIPTS].find_one({"_id": call_id}) is None

    doc = _settle(stack, call_id)
    uv_id = doc["ultravox_call_id"]
    assert len(_requests_for(stack, "delete_call", uv_id)) == 1
    assert uv_id in stack.sandbox.state.deleted_ultravox_calls
    assert doc["recording_consent"]["deleted_at"] is not None
    assert doc.get("summary") is None and doc.get("short_summary") is None
    events = list(stack.db[CALL_EVENTS].find({"call_id": call_id, "provider": "ultravox"}))
    assert events and not any((e["payload"].get("call") or {}).get("summary") for e in events)
    assert len(doc["agent_answers"]) == 2
    # Idempotent: more follow-ups delete nothing more.
    followup.follow_up(stack.db, call_id, now=utcnow() + timedelta(hours=2))
    followup.run_due(stack.db, now=utcnow() + timedelta(hours=3))
    assert len(_requests_for(stack, "delete_call", uv_id)) == 1

    # Never fetched: not by the page's reader, not through the sidecar's signed link.
    got = recordings.recording_bytes(stack.db, call_id)
    assert not got.available and got.message == "Recording refused by the candidate — not kept."
    served = _sidecar_recording(stack, call_id)
    assert served.status_code == 404 and "refused" in served.json()["error"]
    assert _requests_for(stack, "get_recording", uv_id) == []
    assert not [r for r in stack.sandbox.received("media") if uv_id in json.dumps(r)]
    assert stack.db[MEDIA_CACHE].count_documents({"_id": {"$regex": call_id}}) == 0


def test_a_refusal_keeps_the_transcript_when_the_setting_allows(stack) -> None:
    call_id = _place(stack, "+1 415 555 0159", transcript_without_recording=True)
    doc = _settle(stack, call_id)
    assert doc["transcript_status"] == "stored" and doc["recording_consent"]["granted"] is False
    words = [m.text for m in transcript_messages(review_store.get_transcript(stack.db, call_id))]
    assert any("don't want this call recorded" in w for w in words)
    assert len(_requests_for(stack, "delete_call", doc["ultravox_call_id"])) == 1
    # With the transcript kept, its summaries stay too (on the call and in the stored webhooks).
    assert doc["summary"]
    events = list(stack.db[CALL_EVENTS].find({"call_id": call_id, "provider": "ultravox"}))
    assert any((e["payload"].get("call") or {}).get("summary") for e in events)
    assert not recordings.recording_bytes(stack.db, call_id).available
    assert _requests_for(stack, "get_recording", doc["ultravox_call_id"]) == []


def test_a_granted_consent_records_as_before(stack) -> None:
    call_id = _place(stack, "+1 415 555 0103")
    doc = _settle(stack, call_id)
    assert doc["recording_consent"]["granted"] is True and doc["transcript_status"] == "stored"
    got = recordings.recording_bytes(stack.db, call_id)
    assert got.available and got.content
    assert len(_requests_for(stack, "get_recording", doc["ultravox_call_id"])) == 1
    assert _requests_for(stack, "delete_call", doc["ultravox_call_id"]) == []


def test_record_nothing_creates_the_call_with_recording_off(stack) -> None:
    call_id = _place(stack, "+1 305 555 0104",  # Florida
                     recording_consent_method=ConsentMethod.RECORD_NOTHING, transcript_without_recording=True)
    body = _create_body(stack, call_id)
    assert body["recordingEnabled"] is False and "recordingConsent" not in _tool_names(body)
    assert "not recorded" in body["systemPrompt"] and ASK_RULE not in body["systemPrompt"]
    doc = _settle(stack, call_id)
    assert doc["recording_consent"]["mode"] == "off" and doc["transcript_status"] == "stored"
    message = recordings.recording_bytes(stack.db, call_id).message
    assert message.startswith("Recording off: consent not asked (") and "Florida" in message
    assert _requests_for(stack, "get_recording", doc["ultravox_call_id"]) == []
    # recordingEnabled false is not relied on for privacy: the call is deleted at Ultravox too.
    assert len(_requests_for(stack, "delete_call", doc["ultravox_call_id"])) == 1


def test_a_one_party_place_is_not_asked(stack) -> None:
    call_id = _place(stack, "+1 212 555 0105")  # New York
    body = _create_body(stack, call_id)
    assert "recordingConsent" not in _tool_names(body) and ASK_RULE not in body["systemPrompt"]
    doc = _settle(stack, call_id)
    assert doc["recording_consent"]["mode"] == "not_needed"
    words = " ".join(m.text for m in transcript_messages(review_store.get_transcript(stack.db, call_id)))
    assert "agree to this call being recorded" not in words
    assert recordings.recording_bytes(stack.db, call_id).available


def test_everywhere_asks_in_a_one_party_place_too(stack) -> None:
    call_id = _place(stack, "+1 212 555 0106", recording_consent_scope=ConsentScope.EVERYWHERE)
    assert "recordingConsent" in _tool_names(_create_body(stack, call_id))
    assert _doc(stack, call_id)["recording_consent"]["granted"] is True


def test_an_unknown_state_is_treated_as_all_party(stack) -> None:
    call_id = _place(stack, "+1 800 555 0107")  # toll-free: the US, but which state's law?
    assert "recordingConsent" in _tool_names(_create_body(stack, call_id))
    assert "not known" in _doc(stack, call_id)["recording_consent"]["why"]


def test_consent_given_in_advance_is_not_asked_again(stack) -> None:
    call_id = _place(stack, "+1 415 555 0108", advance=True)
    assert "recordingConsent" not in _tool_names(_create_body(stack, call_id))
    assert _doc(stack, call_id)["recording_consent"]["mode"] == "in_advance"


def test_number_60s_agent_skips_the_disclosure(stack) -> None:
    call_id = _place(stack, "+1 212 555 0160")
    agent = [m.text for m in transcript_messages(review_store.get_transcript(stack.db, call_id))
             if m.speaker == "agent"]
    assert agent and not any(DISCLOSURE in text for text in agent[:2])
    assert not any("recorded" in text for text in agent[:2])
    # The same number elsewhere says it (the disclosure check's counterpart).
    other = _place(stack, "+1 212 555 0109")
    first = next(m.text for m in transcript_messages(review_store.get_transcript(stack.db, other))
                 if m.speaker == "agent")
    assert DISCLOSURE in first


# -- the tool endpoint, on the test client ------------------------------------------------------


@pytest.fixture
def client(db):
    return create_app(db, followup_in_background=False).test_client()


def _post(client, call, args: dict, *, key: str | None = None):
    body = {**args, "screeningId": call.id, "ultravoxCallId": call.ultravox_call_id}
    key = call_key(get_settings().tool_secret, call.id) if key is None else key
    return client.post("/tools/recordingConsent", data=json.dumps(body),
                       headers={TOOL_HEADER: key, "Content-Type": "application/json"})


def _asking_call(db):
    return insert_launched_call(db, status="in_progress",
                                recording_consent={"needed": True, "mode": "ask", "why": "test"})


def test_the_consent_tool_needs_the_calls_key_and_a_refusal_is_final(client, db) -> None:
    call = _asking_call(db)
    other = _asking_call(db)
    wrong = _post(client, call, {"granted": True}, key=call_key(get_settings().tool_secret, other.id))
    assert wrong.status_code == 401 and _post(client, call, {"granted": True}, key="nope").status_code == 401
    assert db[CALLS].find_one({"_id": call.id})["recording_consent"].get("asked") is not True
    assert _post(client, call, {"granted": "maybe"}).status_code == 400
    refused = _post(client, call, {"granted": False})
    assert refused.status_code == 200 and "not be kept as a recording" in refused.get_data(as_text=True)
    _post(client, call, {"granted": "yes"})  # a later yes does not undo the refusal
    consent = db[CALLS].find_one({"_id": call.id})["recording_consent"]
    assert consent["asked"] is True and consent["granted"] is False
    assert db[AUDIT_LOG].count_documents({"action": "recording.consent_refused", "entity_id": call.id}) == 1


def test_a_call_nobody_answered_says_so_and_its_agent_is_deleted(stack) -> None:
    call_id = _place(stack, "+1 415 555 0150")  # California, no answer: nobody was ever asked
    doc = _settle(stack, call_id)
    assert doc["status"] == "no_answer" and doc["recording_consent"]["asked"] is False
    assert recordings.recording_bytes(stack.db, call_id).message == "No recording: nobody answered the call."
    assert len(_requests_for(stack, "delete_call", doc["ultravox_call_id"])) == 1


def test_a_deletion_that_keeps_failing_is_on_home_until_ultravox_deletes(stack, caplog, monkeypatch) -> None:
    monkeypatch.setenv("PROVIDER_RETRY_ATTEMPTS", "1")  # each follow-up tries once: a quicker test
    get_settings.cache_clear()
    stack.sandbox.inject_fault(status=503, count=10_000, path_prefix="/api/calls/", method="DELETE")
    call_id = _place(stack, "+1 415 555 0159")  # 59 refuses the recording

    def tried_enough() -> bool:
        doc = _doc(stack, call_id)
        if (doc.get("recording_consent") or {}).get("delete_attempts", 0) >= ALERT_AFTER_TRIES:
            return True
        if doc.get("followup_lease_until") is None:  # the worker's turn once it is due again
            due = max(doc.get("followup_next_at") or utcnow(), utcnow()) + timedelta(seconds=1)
            followup.follow_up(stack.db, call_id, now=due)
        return False

    stack.sandbox.wait_for(tried_enough, 60)
    stuck = reports.stuck_recording_deletions(stack.db, stack.recruiter, zone="UTC")
    assert stuck.count == 1 and [s.call_id for s in stuck.calls] == [call_id]
    shown = stuck.calls[0]
    assert (shown.candidate, shown.tries, shown.problem) == ("Rita Record", ALERT_AFTER_TRIES,
                                                             "Ultravox could not be reached")
    assert "the refused recording is still at Ultravox after 3 tries" in caplog.text
    home = signed_in(AppTest.from_file(page_path("home"), default_timeout=TIMEOUT), stack.recruiter).run()
    assert not home.exception
    assert "Refused recordings still at Ultravox" in [s.value for s in home.subheader]
    assert any(e.value.startswith("1 call: the candidate refused the recording") for e in home.error)
    table = next(df for df in home.dataframe if "Last problem" in df.value.columns)
    assert table.value.to_dict("records")[0]["Open"].endswith(call_id)

    # Ultravox is back: the next follow-up deletes it and the alert goes.
    stack.sandbox.clear_faults()
    doc = _settle(stack, call_id)
    assert doc["recording_consent"]["deleted_at"] is not None
    assert reports.stuck_recording_deletions(stack.db, stack.recruiter, zone="UTC").count == 0
    home = signed_in(AppTest.from_file(page_path("home"), default_timeout=TIMEOUT), stack.recruiter).run()
    assert "Refused recordings still at Ultravox" not in [s.value for s in home.subheader]
