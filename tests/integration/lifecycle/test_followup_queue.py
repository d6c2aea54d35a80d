"""The sidecar's follow-up queue on the real database, with fake provider clients.

What must hold: two schedules of one call give one follow-up, due at the earlier time; the
agent side's `call.ended` is followed up at once and Twilio's final status after a short wait;
a call scheduled while its follow-up runs is followed up again afterwards, never at the same
time; a full queue leaves the call flagged for the worker's reconcile; `drain` waits for all.
"""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal

import pytest

from core.db import CALLS
from core.lifecycle import followup
from core.lifecycle.followup_queue import TWILIO_SETTLE_SECONDS, FollowupQueue, delay_after
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.telephony import TwilioCall
from sidecar.app import create_app
from tests.factories import event, insert_launched_call
from tests.support.commands import listened
from tests.support.webhooks import deliver, full_sequence


class _Twilio:
    """Answers like core.telephony.TwilioGateway; `gate` holds fetches until it is set."""

    def __init__(self, price: str | None = "-0.01") -> None:
        self.price = price
        self.gate = threading.Event()
        self.gate.set()
        self.fetches = 0
        self.active = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def fetch_call(self, sid: str) -> TwilioCall:
        with self._lock:
            self.fetches += 1
            self.active += 1
            self.most_at_once = max(self.most_at_once, self.active)
        try:
            self.gate.wait(10)
            price = Decimal(self.price) if self.price else None
            return TwilioCall(sid, "completed", price, "USD" if price else None, 30)
        finally:
            with self._lock:
                self.active -= 1

    def end_call(self, sid: str) -> str:
        return "completed"


class _Ultravox:
    """An Ultravox that is down (the agent side's facts stay missing)."""

    def get_call(self, call_id: str):
        raise ProviderUnavailable("Ultravox", "down")

    def list_messages(self, call_id: str):
        raise ProviderUnavailable("Ultravox", "down")


class _Unknown:
    """A Twilio that does not know the call (what the sandbox says of made-up calls)."""

    def fetch_call(self, sid: str) -> TwilioCall:
        raise ProviderError("Twilio", 404, "not found")


def _ended_call(db):
    call = insert_launched_call(db, status="completed", ultravox_call_id=None)
    db[CALLS].update_one({"_id": call.id}, {"$set": {"needs_followup": True, "followup_seq": 1}})
    return call


def _until(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_two_schedules_of_a_call_give_one_follow_up_at_the_earlier_time(db) -> None:
    call = _ended_call(db)
    twilio = _Twilio()
    queue = FollowupQueue(db, providers=followup.Providers(_Ultravox(), twilio))
    assert queue.schedule(call.id, 30.0) and queue.schedule(call.id, 0.0)
    assert queue.drain(5)  # the 30 s wait was replaced by the earlier "now"
    assert queue.runs == 1 and twilio.fetches == 1
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["followup_done_at"] and "needs_followup" not in doc


def test_a_delayed_follow_up_waits_and_drain_waits_for_it(db) -> None:
    call = _ended_call(db)
    queue = FollowupQueue(db, providers=followup.Providers(_Ultravox(), _Twilio()))
    queue.schedule(call.id, 1.5)
    time.sleep(0.5)
    assert queue.runs == 0 and db[CALLS].find_one({"_id": call.id})["needs_followup"]
    assert not queue.drain(0.1)  # not due yet
    assert queue.drain(5) and queue.runs == 1
    assert db[CALLS].find_one({"_id": call.id})["followup_done_at"]


def test_agent_end_is_due_at_once_and_twilio_end_after_a_settle_wait() -> None:
    assert delay_after(event(provider="ultravox", kind="call.ended")) == 0.0
    assert delay_after(event(provider="twilio", kind="completed")) == TWILIO_SETTLE_SECONDS
    assert 1.0 <= TWILIO_SETTLE_SECONDS <= 5.0


def test_the_sidecar_follows_up_the_agent_end_at_once_and_the_twilio_end_later(db) -> None:
    app = create_app(db)  # applies inline, follow-ups in the background
    twilio = _Twilio(price=None)  # no price yet: each follow-up waits, the call stays flagged
    queue = FollowupQueue(db, providers=followup.Providers(_Ultravox(), twilio))
    app.extensions["followup_queue"] = queue
    client = app.test_client()
    by_twilio = insert_launched_call(db, status="in_progress", ultravox_call_id=None)
    assert deliver(client, full_sequence(by_twilio)[3]).status_code == 200  # Twilio "completed"
    time.sleep(1.0)
    assert queue.runs == 0  # still settling
    assert queue.drain(5) and queue.runs == 1
    by_agent = insert_launched_call(db, status="in_progress")
    assert deliver(client, full_sequence(by_agent)[6]).status_code == 200  # Ultravox call.ended
    started = time.monotonic()
    assert _until(lambda: queue.runs == 2, TWILIO_SETTLE_SECONDS - 0.5)
    assert time.monotonic() - started < TWILIO_SETTLE_SECONDS
    queue.drain(5)


def test_a_call_scheduled_while_its_follow_up_runs_is_followed_up_again_after(db) -> None:
    call = _ended_call(db)
    twilio = _Twilio()
    twilio.gate.clear()
    queue = FollowupQueue(db, providers=followup.Providers(_Ultravox(), twilio))
    queue.schedule(call.id)
    assert _until(lambda: twilio.fetches == 1, 5)  # the first follow-up is at the provider
    # What applying a second ending event does, then its schedule.
    db[CALLS].update_one({"_id": call.id}, {"$inc": {"followup_seq": 1}})
    queue.schedule(call.id)
    time.sleep(0.3)
    assert queue.runs == 1  # not beside the running one (its lease would turn it away)
    twilio.gate.set()
    assert queue.drain(5)
    assert queue.runs == 2 and twilio.most_at_once == 1


def test_a_full_queue_leaves_the_call_to_the_reconcile(db, caplog) -> None:
    waiting, left = _ended_call(db), _ended_call(db)
    providers = followup.Providers(_Ultravox(), _Twilio())
    queue = FollowupQueue(db, providers=providers, limit=1)
    assert queue.schedule(waiting.id, 60.0)
    with caplog.at_level(logging.WARNING, logger="core.lifecycle.followup_queue"):
        assert queue.schedule(left.id) is False
    assert [r.getMessage() for r in caplog.records] == [
        f"follow-up queue full: call {left.id} is left to the worker's reconcile"]
    assert queue.schedule(waiting.id, 90.0)  # a call already queued still coalesces (60 s kept)
    time.sleep(0.3)
    assert queue.runs == 0 and db[CALLS].find_one({"_id": left.id})["needs_followup"]
    assert followup.run_due(db, providers=providers) == (2, 0)  # the worker's safety net


@pytest.fixture
def counted(db, test_env):
    with listened(test_env["MONGODB_URI"], db.name) as pair:
        yield pair


def test_a_follow_up_that_learns_nothing_reads_the_call_once(counted) -> None:
    database, commands = counted
    call = _ended_call(database)
    commands.clear()
    result = followup.follow_up(database, call.id, providers=followup.Providers(_Ultravox(), _Unknown()))
    assert result == "waiting for price"
    # The lease reads the call (by `_id`) and takes it with a compare-and-set; nothing was
    # written before the postpone, so no re-read.
    assert commands.names == ["find", "update", "update"]
    doc = database[CALLS].find_one({"_id": call.id})
    assert doc["needs_followup"] and doc["followup_attempts"] == 1 and "followup_lease_until" not in doc


class _DownThenPriced(_Twilio):
    """Twilio fails the first read (after the gate), then answers with the price."""

    def fetch_call(self, sid: str) -> TwilioCall:
        if self.fetches == 0:
            self.fetches += 1
            self.gate.wait(10)
            raise ProviderUnavailable("Twilio", "down")
        return super().fetch_call(sid)


def test_a_webhook_during_a_follow_up_makes_it_go_again(db) -> None:
    call = _ended_call(db)
    twilio = _DownThenPriced(price="-0.02")
    twilio.gate.clear()
    done: list[str | None] = []
    worker = threading.Thread(target=lambda: done.append(followup.follow_up(
        db, call.id, providers=followup.Providers(_Ultravox(), twilio))))
    worker.start()
    assert _until(lambda: twilio.fetches == 1, 5)
    db[CALLS].update_one({"_id": call.id}, {"$inc": {"followup_seq": 1}})  # an ending event applied
    twilio.gate.set()
    worker.join(10)
    # Its postpone saw the counter move: it read the call again and asked once more (same lease).
    assert done == ["complete"] and twilio.fetches == 2
    assert db[CALLS].find_one({"_id": call.id})["telephony_price"] == "0.02"
