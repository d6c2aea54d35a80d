"""Nothing stays stuck: the sweeper ends what no provider ends, and frees what was held.

A call the providers never settle (a lost call, a provider that forgot it) is set to
`unknown` once its maximum length plus the grace period has passed since its claim, on the
database's clock; a later provider result may still replace it. A one-call launch that stopped
between its insert and its claim is canceled. Every slot comes back.
"""

from __future__ import annotations

from datetime import timedelta

from core.calling import gate_store, sweeper
from core.calling.gate import DIAL_GATE
from core.db import APP_STATE, CALLS, new_id, server_now
from core.documents.call import Call
from core.lifecycle import events, ingest
from tests.factories import call_doc


def _insert(db, **fields) -> Call:
    call = Call.model_validate({
        "_id": new_id(), "candidate_id": new_id(), "job_id": "job1", "attempt": 1,
        "created_at": server_now(db), "updated_at": server_now(db), **fields})
    db[CALLS].insert_one(call_doc(call))
    return call


def _status(db, call: Call) -> Call:
    return Call.model_validate(db[CALLS].find_one({"_id": call.id}))


def test_a_call_no_provider_ends_becomes_unknown_and_a_late_result_replaces_it(db) -> None:
    now = server_now(db)
    config = {"config": {"max_duration_minutes": 15}}
    stuck = _insert(db, status="in_progress", open_key="a:job1", config_snapshot=config,
                    dialed_at=now - timedelta(minutes=15 + 10, seconds=5),
                    twilio_call_sid="CA" + "1" * 32)
    live = _insert(db, status="in_progress", open_key="b:job1", config_snapshot=config,
                   dialed_at=now - timedelta(minutes=15 + 9))
    db[APP_STATE].update_one({"_id": DIAL_GATE}, {"$set": {"inflight": [stuck.id, live.id]}},
                             upsert=True)

    summary = sweeper.run_once(db)

    ended = _status(db, stuck)
    assert ended.status.value == "unknown" and "maximum length" in ended.failure_reason
    assert ended.open_key is None and ended.ended_at is not None
    assert _status(db, live).status.value == "in_progress"  # still inside its bound
    assert gate_store.read_gate(db, DIAL_GATE).inflight == [live.id]
    assert "stuck calls ended as unknown 1" in summary
    # Twilio's own end arrives late: it replaces "unknown", the only move out of an end.
    form = {"CallSid": stuck.twilio_call_sid, "CallStatus": "completed", "SequenceNumber": "9",
            "CallDuration": "300"}
    ingest.process(db, events.parse_twilio(form, stuck.id))
    settled = _status(db, stuck)
    assert settled.status.value == "completed"
    assert [h.status for h in settled.status_history][-2:] == ["unknown", "completed"]
    assert settled.status_history[-1].event_id  # recorded as the event that moved it


def test_an_unknown_call_is_never_dialled_again(db) -> None:
    now = server_now(db)
    stuck = _insert(db, status="dialing", open_key="a:job1", batch_id="b1",
                    dialed_at=now - timedelta(hours=2))
    sweeper.run_once(db)
    assert _status(db, stuck).status.value == "unknown"
    from core.calling import dispatch

    dispatch.schedule_retries(db, now, {})
    assert db[CALLS].count_documents({}) == 1  # no retry queued for it


def test_a_launch_that_stopped_before_its_claim_is_canceled(db) -> None:
    now = server_now(db)
    orphan = _insert(db, status="queued", open_key="a:job1", batch_id=None,
                     created_at=now - timedelta(minutes=6))
    recent = _insert(db, status="queued", open_key="b:job1", batch_id=None,
                     created_at=now - timedelta(minutes=1))
    waiting = _insert(db, status="queued", open_key="c:job1", batch_id="b1",
                      created_at=now - timedelta(hours=3))  # a batch call waits legitimately
    # A single call's call-back the candidate asked for waits for its time, not stranded.
    callback = _insert(db, status="queued", open_key="d:job1", batch_id=None, retry_of="first",
                       created_at=now - timedelta(hours=3), next_attempt_at=now + timedelta(hours=20))
    sweeper.run_once(db)
    canceled = _status(db, orphan)
    assert canceled.status.value == "canceled" and "not dialled" in canceled.failure_reason
    assert canceled.open_key is None  # the pair may be launched again
    assert _status(db, recent).status.value == "queued"
    assert _status(db, waiting).status.value == "queued"
    assert _status(db, callback).status.value == "queued"
