"""Reconcile alone: a whole sandbox call whose webhooks all went missing is still completed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.db import CALL_EVENTS, CALLS, utcnow
from core.lifecycle import reconcile
from tests.support import live_calls
from tests.support.live_calls import complete, launch_screening, wait

pytestmark = pytest.mark.slow
env = live_calls.env


def test_reconcile_recovers_a_call_whose_webhooks_never_arrived(db, env) -> None:
    # No sidecar listens on WEBHOOK_PORT: every webhook of this call is lost.
    call_id, _ = launch_screening(db, "+12025550124")
    sid = db[CALLS].find_one({"_id": call_id})["twilio_call_sid"]
    from core.providers.telephony import get_twilio

    assert wait(lambda: get_twilio().fetch_call(sid).status == "completed", 30)
    assert db[CALL_EVENTS].count_documents({}) == 0
    assert db[CALLS].find_one({"_id": call_id})["status"] == "dialing"
    later = lambda: reconcile.run_once(db, now=utcnow() + timedelta(minutes=10))  # noqa: E731
    assert wait(lambda: complete(db[CALLS].find_one({"_id": call_id})), 30, later), \
        db[CALLS].find_one({"_id": call_id})
    kinds = {e["dedupe_key"].split(":")[-1] for e in db[CALL_EVENTS].find({"call_id": call_id})}
    assert {"call.ended", "call.billed"} <= kinds
