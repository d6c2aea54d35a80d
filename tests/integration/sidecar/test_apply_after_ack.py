"""The sidecar as served: a callback is answered once its event is stored, applied just after.

What must hold: the answer names an event that is already stored; the in-process applier puts
it on the call within about two seconds; if the process dies between the two, the worker's
reconcile applies it; a call id named in the callback URL that turns out wrong never moves
another call; a replayed callback stores nothing new.
"""

from __future__ import annotations

import time

import pytest
from twilio.request_validator import RequestValidator

from core.config import get_settings
from core.db import CALL_EVENTS, CALLS, ROLLUPS, new_id
from core.lifecycle import ingest
from sidecar.app import create_app
from tests.factories import insert_call, insert_launched_call
from tests.support.commands import listened
from tests.support.webhooks import deliver, full_sequence

PATH = "/webhooks/twilio/status"


@pytest.fixture
def app(db):
    return create_app(db, followup_in_background=False, apply_after_ack=True)


class _DeadApplier:
    """Stands in for an applier whose process was killed right after the answer left."""

    def submit(self, event, *, confirm: bool = False) -> bool:
        return True


def _post(client, call_id: str | None, sid: str, status: str, seq: int, **extra: str):
    query = f"?call={call_id}" if call_id else ""
    form = {"CallSid": sid, "CallStatus": status, "SequenceNumber": str(seq),
            "AccountSid": "AC" + "0" * 32, **extra}
    url = get_settings().webhook_base_url + PATH + query
    signature = RequestValidator(get_settings().twilio_token).compute_signature(url, form)
    return client.post(PATH + query, data=form, headers={"X-Twilio-Signature": signature})


def _until(check, seconds: float) -> float | None:
    """Seconds until `check()` held, or None if it did not within `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def test_the_answer_follows_the_insert_and_the_apply_follows_within_two_seconds(app, db) -> None:
    call = insert_launched_call(db)
    answer = _post(app.test_client(), call.id, call.twilio_call_sid, "ringing", 1)
    assert answer.status_code == 200 and answer.json["stored"] is True
    # Stored before the answer: the acknowledged event is there the moment it is answered.
    assert db[CALL_EVENTS].find_one({"_id": answer.json["event"]}) is not None
    took = _until(lambda: db[CALL_EVENTS].find_one({"_id": answer.json["event"]})["applied"]
                  and db[CALLS].find_one({"_id": call.id})["status"] == "ringing", 2.0)
    assert took is not None, "not applied within 2 s"


def test_an_ended_call_is_applied_then_settled_once(app, db) -> None:
    call = insert_launched_call(db)
    client = app.test_client()
    for seq, status in enumerate(["initiated", "ringing", "in-progress", "completed"]):
        assert _post(client, call.id, call.twilio_call_sid, status, seq,
                     CallDuration="42").status_code == 200
    assert app.extensions["applier"].drain(10)
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["status"] == "completed" and doc["duration_seconds"] == 42
    assert "open_key" not in doc and doc["rollup"]["seq"] == 1
    assert db[CALL_EVENTS].count_documents({"call_id": call.id, "applied": True}) == 4
    # A replay of the whole sequence stores and counts nothing new.
    for seq, status in enumerate(["initiated", "ringing", "in-progress", "completed"]):
        replay = _post(client, call.id, call.twilio_call_sid, status, seq, CallDuration="42")
        assert replay.status_code == 200 and replay.json["stored"] is False
    assert app.extensions["applier"].drain(10)
    assert db[CALL_EVENTS].count_documents({"call_id": call.id}) == 4
    assert db[CALLS].find_one({"_id": call.id})["rollup"]["seq"] == 1


def test_killed_after_the_answer_the_worker_reconcile_applies_the_event(app, db) -> None:
    # The launcher never stored the CallSid (its answer was lost): the callback names our id.
    call = insert_launched_call(db)
    db[CALLS].update_one({"_id": call.id}, {"$unset": {"twilio_call_sid": ""}})
    sid = "CA" + "7" * 32
    app.extensions["applier"] = _DeadApplier()
    answer = _post(app.test_client(), call.id, sid, "completed", 3, CallDuration="30")
    assert answer.status_code == 200
    stored = db[CALL_EVENTS].find_one({"_id": answer.json["event"]})
    assert stored is not None and stored["applied"] is False
    assert db[CALLS].find_one({"_id": call.id})["status"] == "dialing"
    # The worker's reconcile (its event pass) finds the acknowledged, unapplied event.
    applied, pending = ingest.apply_pending(db)
    assert (applied, pending) == (1, 0)
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["status"] == "completed" and doc["twilio_call_sid"] == sid
    assert doc["rollup"]["seq"] == 1  # settled with the apply, once
    assert db[CALL_EVENTS].find_one({"_id": answer.json["event"]})["applied"] is True
    assert ingest.apply_pending(db) == (0, 0)


def test_a_named_call_that_does_not_exist_leaves_an_orphan_that_links_later(app, db) -> None:
    sid = "CA" + "5" * 32
    ghost = new_id()
    answer = _post(app.test_client(), ghost, sid, "ringing", 1)
    assert answer.status_code == 200 and answer.json["stored"] is True
    assert app.extensions["applier"].drain(10)
    event = db[CALL_EVENTS].find_one({"_id": answer.json["event"]})
    assert event["call_id"] is None and event["orphan"] is True and event["applied"] is False
    # The call shows up under that CallSid: the orphan pass links and applies it.
    call = insert_call(db, status="dialing", twilio_call_sid=sid, open_key="k:j")
    applied, _ = ingest.apply_pending(db)
    assert applied == 1 and db[CALLS].find_one({"_id": call.id})["status"] == "ringing"


def test_a_named_call_with_another_callsid_is_never_moved(app, db) -> None:
    owner = insert_launched_call(db)
    other = insert_launched_call(db)
    # Signed for `other`, but the CallSid is `owner`'s: the event goes to the CallSid's owner.
    answer = _post(app.test_client(), other.id, owner.twilio_call_sid, "ringing", 1)
    assert answer.status_code == 200
    assert app.extensions["applier"].drain(10)
    assert db[CALLS].find_one({"_id": owner.id})["status"] == "ringing"
    assert db[CALLS].find_one({"_id": other.id})["status"] == "dialing"
    assert db[CALL_EVENTS].find_one({"_id": answer.json["event"]})["call_id"] == owner.id


def test_a_burst_of_whole_calls_is_settled_together_and_counted_once(db, test_env) -> None:
    """Twilio's and Ultravox's endings of many calls reach the settler, which settles them in
    batches: far fewer gate writes than one per ending, and every call counted once."""
    with listened(test_env["MONGODB_URI"], db.name) as (database, commands):
        app = create_app(database, followup_in_background=False, apply_after_ack=True)
        client = app.test_client()
        calls = [insert_launched_call(db) for _ in range(8)]
        for call in calls:
            for item in full_sequence(call):
                assert deliver(client, item).status_code == 200
        assert app.extensions["applier"].drain(20)
    gates = [body for name, body in commands.started_commands
             if name == "update" and any("rollup.seq" in u["q"] for u in body.get("updates") or [])]
    endings = 3 * len(calls)  # Twilio's completed, Ultravox's ended and billed: each settles
    for call in calls:
        doc = db[CALLS].find_one({"_id": call.id})
        assert doc["status"] == "completed" and doc["billing_status"] == "BILLING_STATUS_BILLED"
        assert "inc_pending" not in doc["rollup"]
    day = {k: v for k, v in db[ROLLUPS].find_one({"scope": "day"})["c"].items() if v}
    assert day["calls"] == len(calls) and day["out_completed"] == len(calls)
    assert 0 < len(gates) < endings, gates
