"""Follow-up and reconcile on the real database with fake provider clients (fast, exact)."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest

from core.db import AUDIT_LOG, CALLS, CANDIDATES, TRANSCRIPTS, utcnow
from core.documents.call import Call
from core.lifecycle import followup, reconcile
from core.lifecycle import store as lifecycle_store
from core.providers.resilience import ProviderUnavailable
from core.providers.telephony import TwilioCall
from core.providers.ultravox import Call as UltravoxCall
from core.providers.ultravox import Message
from sidecar.app import create_app
from tests.factories import insert_candidate, insert_launched_call
from tests.support.webhooks import deliver, full_sequence

MESSAGES = [
    {"role": "MESSAGE_ROLE_AGENT", "text": "Hi, this is the screening call.", "medium":
     "MESSAGE_MEDIUM_VOICE", "timespan": {"start": "0.5s", "end": "2.25s"}},
    {"role": "MESSAGE_ROLE_USER", "text": "Sure, go ahead.",
     "timespan": {"start": "3s", "end": "4s"}},
    {"role": "MESSAGE_ROLE_TOOL_CALL", "text": "{}", "toolName": "hangUp"},
]


class FakeUltravox:
    """Answers like core.ultravox.UltravoxClient from in-memory calls."""

    def __init__(self) -> None:
        self.calls: dict[str, dict] = {}
        self.messages: dict[str, list[dict]] = {}
        self.down = False
        self.hangups: list[str] = []

    def get_call(self, call_id: str) -> UltravoxCall:
        if self.down:
            raise ProviderUnavailable("Ultravox", "test outage")
        return UltravoxCall.model_validate(self.calls[call_id])

    def list_messages(self, call_id: str) -> list[Message]:
        if self.down:
            raise ProviderUnavailable("Ultravox", "test outage")
        return [Message.model_validate(m) for m in self.messages.get(call_id, [])]

    def end_call(self, call_id: str, message: str = "Goodbye!") -> bool:
        self.hangups.append(call_id)
        return True


class FakeTwilio:
    """Answers like core.telephony.TwilioGateway."""

    def __init__(self) -> None:
        self.calls: dict[str, TwilioCall] = {}
        self.hangups: list[str] = []

    def fetch_call(self, sid: str) -> TwilioCall:
        return self.calls[sid]

    def end_call(self, sid: str) -> str:
        self.hangups.append(sid)
        old = self.calls[sid]
        self.calls[sid] = TwilioCall(sid, "completed", old.price, old.price_unit, old.duration,
                                     old.answered_by)
        return "completed"


@pytest.fixture
def providers() -> followup.Providers:
    return followup.Providers(FakeUltravox(), FakeTwilio())


def _ended_uv(call: Call, **extra) -> dict:
    t = utcnow()
    data = {"callId": call.ultravox_call_id, "created": (t - timedelta(minutes=2)).isoformat(),
            "joined": (t - timedelta(minutes=2)).isoformat(), "ended": t.isoformat(),
            "endReason": "agent_hangup", "summary": "Strong candidate.", "shortSummary": "Strong",
            "billedDuration": "61.5s", "billingStatus": "BILLING_STATUS_BILLED"}
    data.update(extra)
    return data


def test_call_ended_webhook_then_follow_up_completes_the_call(db, providers) -> None:
    call = insert_launched_call(db, status="in_progress")
    uv, tw = providers.ultravox, providers.telephony
    uv.calls[call.ultravox_call_id] = _ended_uv(call, billingStatus="BILLING_STATUS_PENDING",
                                                billedDuration=None)
    uv.messages[call.ultravox_call_id] = MESSAGES
    tw.calls[call.twilio_call_sid] = TwilioCall(call.twilio_call_sid, "in-progress",
                                                None, None, None)
    client = create_app(db, followup_in_background=False).test_client()
    seq = full_sequence(call)
    assert deliver(client, seq[6]).status_code == 200  # call.ended only: the line is still up
    assert followup.follow_up(db, call.id, providers=providers) == \
        "waiting for billing, price"
    assert tw.hangups == [call.twilio_call_sid]  # the Twilio leg was ended
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["status"] == "completed" and doc["transcript_status"] == "stored"
    assert doc["message_count"] == 3 and doc["summary"] == "Strong candidate."  # latest read
    transcript = db[TRANSCRIPTS].find_one({"_id": call.id})
    assert [m["role"] for m in transcript["messages"]] == ["agent", "user", "tool_call"]
    assert transcript["messages"][0]["start_s"] == 0.5
    assert transcript["messages"][0]["end_s"] == 2.25
    # Not due again before its back-off; then billing and the price have arrived.
    assert followup.follow_up(db, call.id, providers=providers) is None
    uv.calls[call.ultravox_call_id] = _ended_uv(call)
    tw.calls[call.twilio_call_sid] = TwilioCall(call.twilio_call_sid, "completed",
                                                Decimal("-0.01400"), "USD", 61)
    later = utcnow() + timedelta(minutes=1)
    assert followup.follow_up(db, call.id, providers=providers, now=later) == "complete"
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["telephony_price"] == "0.01400" and doc["price_unit"] == "USD"
    assert doc["billed_duration_seconds"] == 61.5
    assert doc["billing_status"] == "BILLING_STATUS_BILLED"
    assert "needs_followup" not in doc and doc["followup_done_at"]


def test_spoken_opt_out_marks_the_candidate_everywhere(db, providers) -> None:
    candidate_id = "cand-55"
    insert_candidate(db, id=candidate_id, name="Sam", job_ids=["job1", "job2"])
    call = insert_launched_call(db, candidate_id=candidate_id, status="completed")
    queued = insert_launched_call(db, candidate_id=candidate_id, status="queued", job_id="job2")
    providers.ultravox.calls[call.ultravox_call_id] = _ended_uv(call)
    providers.ultravox.messages[call.ultravox_call_id] = [
        MESSAGES[0], {"role": "MESSAGE_ROLE_USER",
                      "text": "No. Please stop calling me, don't call me again."}]
    providers.telephony.calls[call.twilio_call_sid] = TwilioCall(
        call.twilio_call_sid, "completed", Decimal("-0.02"), "USD", 20)
    db[CALLS].update_one({"_id": call.id}, {"$set": {"needs_followup": True}})
    assert followup.follow_up(db, call.id, providers=providers) == "complete"
    cand = db[CANDIDATES].find_one({"_id": candidate_id})
    assert cand["do_not_call"] is True and cand["do_not_call_call_id"] == call.id
    assert cand["do_not_call_at"]
    assert db[CALLS].find_one({"_id": call.id})["opt_out"] is True
    assert db[CALLS].find_one({"_id": queued.id})["status"] == "canceled"
    entry = db[AUDIT_LOG].find_one({"entity": "candidate", "entity_id": candidate_id})
    assert entry["action"] == "candidate.do_not_call" and call.id in entry["detail"]


def test_reconcile_recovers_a_call_whose_webhooks_never_came(db, providers) -> None:
    old = utcnow() - timedelta(minutes=10)
    call = insert_launched_call(db, status="ringing", updated_at=old, created_at=old)
    providers.ultravox.calls[call.ultravox_call_id] = _ended_uv(call)
    providers.ultravox.messages[call.ultravox_call_id] = MESSAGES
    providers.telephony.calls[call.twilio_call_sid] = TwilioCall(
        call.twilio_call_sid, "completed", Decimal("-0.0140"), "USD", 61, "human")
    summary = reconcile.run_once(db, providers=providers)
    assert "quiet calls polled 1" in summary and "follow-ups complete 1" in summary
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["status"] == "completed" and "open_key" not in doc
    assert doc["transcript_status"] == "stored" and doc["summary"] == "Strong candidate."
    assert doc["billing_status"] == "BILLING_STATUS_BILLED" and doc["telephony_price"] == "0.0140"
    assert doc["duration_seconds"] == 61 and doc["answered_by"] == "human"
    assert doc["costs"]["telephony"] == "0.014" and not doc["costs"]["telephony_estimated"]
    assert doc["costs"]["ai_estimated"] is False  # rollups synced with the actual figures
    # The recovered facts are in the event log, keyed like the webhooks they replace.
    from core.db import CALL_EVENTS

    keys = {e["dedupe_key"] for e in db[CALL_EVENTS].find({"call_id": call.id})}
    assert f"uv:{call.ultravox_call_id}:call.ended" in keys
    assert reconcile.run_once(db, providers=providers) is None  # nothing left to do


def test_overdue_live_call_is_hung_up(db, providers) -> None:
    long_ago = utcnow() - timedelta(minutes=30)
    call = insert_launched_call(db, status="in_progress", updated_at=long_ago, answered_at=long_ago,
                                config_snapshot={"config": {"max_duration_minutes": 15}})
    providers.ultravox.calls[call.ultravox_call_id] = {"callId": call.ultravox_call_id,
                                                       "joined": long_ago.isoformat()}
    providers.telephony.calls[call.twilio_call_sid] = TwilioCall(
        call.twilio_call_sid, "in-progress", None, None, None)
    reconcile.run_once(db, providers=providers)
    assert providers.telephony.hangups == [call.twilio_call_sid]
    assert providers.ultravox.hangups == [call.ultravox_call_id]
    assert db[CALLS].find_one({"_id": call.id})["status"] == "completed"


def test_provider_outage_backs_off_then_completes(db, providers) -> None:
    call = insert_launched_call(db, status="completed", ultravox_ended=True)
    db[CALLS].update_one({"_id": call.id}, {"$set": {"needs_followup": True}})
    providers.ultravox.down = True
    providers.telephony.calls[call.twilio_call_sid] = TwilioCall(
        call.twilio_call_sid, "completed", Decimal("0"), "USD", 0)
    assert followup.follow_up(db, call.id, providers=providers).startswith("waiting")
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["followup_next_at"] > utcnow() and "followup_lease_until" not in doc
    providers.ultravox.down = False
    providers.ultravox.calls[call.ultravox_call_id] = _ended_uv(call)
    later = utcnow() + timedelta(minutes=5)
    assert reconcile.run_once(db, providers=providers, now=later).endswith("complete 1, waiting 0")


def test_unconnected_call_without_price_is_not_awaited_forever(db, providers) -> None:
    call = insert_launched_call(db, status="canceled", ended_at=utcnow() - timedelta(minutes=20),
                                ultravox_call_id=None)
    providers.telephony.calls[call.twilio_call_sid] = TwilioCall(
        call.twilio_call_sid, "canceled", None, None, None)
    assert "ended calls to complete 1" in reconcile.run_once(db, providers=providers)
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["price_status"] == "none" and doc["followup_done_at"]


def test_only_one_follow_up_runs_at_a_time(db, providers) -> None:
    call = insert_launched_call(db, status="completed", ultravox_call_id=None)
    db[CALLS].update_one({"_id": call.id}, {"$set": {"needs_followup": True}})
    gate = threading.Event()
    fetches: list[str] = []

    class SlowTwilio(FakeTwilio):
        def fetch_call(self, sid: str) -> TwilioCall:
            fetches.append(sid)
            gate.wait(5)
            return TwilioCall(sid, "completed", Decimal("-0.01"), "USD", 10)

    slow = followup.Providers(FakeUltravox(), SlowTwilio())
    results: list[str | None] = []
    first = threading.Thread(target=lambda: results.append(
        followup.follow_up(db, call.id, providers=slow)))
    first.start()
    while not fetches:
        pass
    assert followup.follow_up(db, call.id, providers=slow) is None  # leased
    gate.set()
    first.join(10)
    assert results == ["complete"] and len(fetches) == 1


def test_calls_leased_from_many_threads_at_once_are_each_leased_once(db) -> None:
    """The lease is a read then a compare-and-set on the call's lease counter: whoever read the
    call before another leased it loses, so each due call goes to exactly one claimant."""
    due = [insert_launched_call(db, status="completed").id for _ in range(25)]
    db[CALLS].update_many({"_id": {"$in": due}}, {"$set": {"needs_followup": True}})
    not_due = insert_launched_call(db, status="completed").id
    db[CALLS].update_one({"_id": not_due}, {"$set": {"needs_followup": True,
                                                     "followup_next_at": utcnow() + timedelta(minutes=5)}})
    won: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def claim_all() -> None:
        start.wait()
        for call_id in [*due, not_due]:
            now = utcnow()
            call = lifecycle_store.claim_followup(db, call_id, now, now + timedelta(minutes=5))
            if call is not None:
                assert call.followup_lease_until is not None
                with lock:
                    won.append(call.id)

    threads = [threading.Thread(target=claim_all) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(won) == sorted(due)  # each due call once; the one not due by nobody
    assert {d["followup_lease_seq"] for d in db[CALLS].find({"_id": {"$in": due}})} == {1}
