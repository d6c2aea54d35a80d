"""Orphan events (no call of ours links to them) never starve the retry of a real event.

Before, one query read the 100 oldest unapplied events, orphans included: 150 orphans that
never link (another app's calls on our Twilio number, say) filled every batch for the two hours
orphans are kept, and a real event whose apply crashed waited behind them.
"""

from __future__ import annotations

from datetime import timedelta

from core.db import CALL_EVENTS, CALLS, utcnow
from core.lifecycle import ingest
from sidecar.app import create_app
from tests.factories import call as build_call
from tests.factories import insert_launched_call
from tests.support.webhooks import deliver, full_sequence


def _orphans(client, count: int) -> None:
    for i in range(count):
        stranger = build_call(twilio_call_sid=f"CA{i:032x}", ultravox_call_id=f"uv-stranger-{i}")
        assert deliver(client, full_sequence(stranger)[1]).json["orphan"] is True


def test_a_real_events_retry_is_applied_despite_150_orphans(db) -> None:
    client = create_app(db, followup_in_background=False).test_client()
    _orphans(client, 150)
    call = insert_launched_call(db)
    assert deliver(client, full_sequence(call)[1]).status_code == 200  # ringing, applied
    # The apply crashed after the event was stored: the event is unapplied, the call unmoved.
    db[CALL_EVENTS].update_one({"call_id": call.id}, {"$set": {"applied": False}})
    db[CALLS].update_one({"_id": call.id}, {"$set": {"status": "dialing"}, "$unset": {"ringing_at": ""}})
    applied, pending = ingest.apply_pending(db)
    assert applied == 1 and db[CALLS].find_one({"_id": call.id})["status"] == "ringing"
    assert pending == 50  # one bounded batch of orphans looked at, the rest later


def test_an_orphan_is_looked_at_again_with_growing_pauses_until_its_call_appears(db) -> None:
    client = create_app(db, followup_in_background=False).test_client()
    late = build_call(id="late", twilio_call_sid="CA" + "c" * 32, ultravox_call_id="uv-late")
    deliver(client, full_sequence(late)[1])
    now = utcnow()
    assert ingest.apply_pending(db, now=now) == (0, 1)
    assert ingest.apply_pending(db, now=now + timedelta(seconds=5)) == (0, 0)  # pausing: not read
    event = db[CALL_EVENTS].find_one({})
    assert event["orphan_checks"] == 1
    assert ingest.orphan_pause(1) == timedelta(seconds=30) and ingest.orphan_pause(9) == timedelta(minutes=10)
    # Its call is written; at the next look the event links and applies.
    insert_launched_call(db, id="late", twilio_call_sid=late.twilio_call_sid, ultravox_call_id="uv-late")
    assert ingest.apply_pending(db, now=now + timedelta(seconds=16)) == (1, 0)
    assert db[CALLS].find_one({"_id": "late"})["status"] == "ringing"
