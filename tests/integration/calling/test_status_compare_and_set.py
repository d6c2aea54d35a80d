"""Status moves of a batch as compare-and-sets on the status read just before.

What must hold: the result is the one of applying each move on its own, forward-only, in order,
whether or not another writer moved the call between the read and the batch's write; a move that
is not forward is left out but its facts are kept; nothing is moved twice (no double history).
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.calling.store import PhaseMove, move_status, move_status_many
from core.db import CALLS, ensure_indexes, new_id, utcnow
from core.documents.status import CallStatus
from core.lifecycle import store as lifecycle_store
from tests.factories import insert_call

_TWILIO_ENDS = [CallStatus.RINGING, CallStatus.IN_PROGRESS, CallStatus.COMPLETED, CallStatus.NO_ANSWER,
                CallStatus.BUSY, CallStatus.FAILED]


def _move(call_id: str, status: CallStatus, minute: int) -> PhaseMove:
    at = utcnow().replace(microsecond=0) - timedelta(minutes=60 - minute)
    facts = {"duration_seconds": minute}
    return PhaseMove(call_id=call_id, status=status, fields={"twilio_status": status.value, **facts},
                     event_id=new_id(), at=at, earliest={f"t{minute}_at": at},
                     facts=facts)


def _state(db, call_id: str) -> tuple[str, list[str], dict]:
    doc = db[CALLS].find_one({"_id": call_id})
    times = {k: v for k, v in doc.items() if k.startswith("t") and k.endswith("_at")}
    return doc["status"], [h["status"] for h in doc.get("status_history", [])], times


def test_the_compare_and_set_indexes_exist_on_the_embedded_server(db) -> None:
    ensure_indexes(db)  # twice: safe
    names = {ix["name"] for ix in db[CALLS].list_indexes()}
    assert {"id_status", "id_rollup.seq", "id_followup_seq"} <= names


def test_a_batch_moves_a_read_call_through_each_status_once(db) -> None:
    call = insert_call(db, status=CallStatus.DIALING)
    moves = [_move(call.id, s, i) for i, s in enumerate(
        [CallStatus.RINGING, CallStatus.IN_PROGRESS, CallStatus.COMPLETED])]
    move_status_many(db, moves, {call.id: "dialing"})
    move_status_many(db, moves, {call.id: "completed"})  # delivered again: nothing moves twice
    status, history, times = _state(db, call.id)
    assert status == "completed"
    assert history == ["ringing", "in_progress", "completed"]
    assert set(times) == {"t0_at", "t1_at", "t2_at"}
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["needs_followup"] is True and "open_key" not in doc


def test_a_call_moved_by_another_writer_after_the_read_is_still_moved_forward_only(db) -> None:
    call = insert_call(db, status=CallStatus.DIALING)
    read = {call.id: "dialing"}
    # Another process moves the call on between this batch's read and its write.
    assert move_status(db, call.id, CallStatus.IN_PROGRESS)
    move_status_many(db, [_move(call.id, CallStatus.RINGING, 1), _move(call.id, CallStatus.COMPLETED, 2)],
                     read)
    status, history, times = _state(db, call.id)
    assert status == "completed"
    assert history == ["in_progress", "completed"]  # ringing came too late: not a step back
    assert set(times) == {"t1_at", "t2_at"}  # its time is kept all the same


def test_a_move_that_is_not_forward_from_the_read_status_keeps_only_its_facts(db) -> None:
    call = insert_call(db, status=CallStatus.BUSY)
    move_status_many(db, [_move(call.id, CallStatus.RINGING, 5)], {call.id: "busy"})
    status, history, times = _state(db, call.id)
    assert (status, history, set(times)) == ("busy", [], {"t5_at"})
    assert db[CALLS].find_one({"_id": call.id})["duration_seconds"] == 5


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.sampled_from([CallStatus.DIALING, CallStatus.RINGING, CallStatus.IN_PROGRESS,
                              CallStatus.UNKNOWN]),
       between=st.lists(st.sampled_from(_TWILIO_ENDS + [CallStatus.UNKNOWN]), max_size=2),
       statuses=st.lists(st.sampled_from(_TWILIO_ENDS), min_size=1, max_size=5))
def test_a_batch_ends_as_the_moves_one_by_one_would(db, start, between, statuses) -> None:
    """Whatever another writer did after the read, the batch leaves the call as applying its
    moves one at a time (forward-only) after that writer would."""
    batched = insert_call(db, status=start)
    one_by_one = insert_call(db, status=start)
    for status in between:
        move_status(db, batched.id, status)
        move_status(db, one_by_one.id, status)
    moves = [_move(batched.id, s, i) for i, s in enumerate(statuses)]
    move_status_many(db, moves, {batched.id: start.value})
    for m in moves:
        if not move_status(db, one_by_one.id, m.status, fields=m.fields, at=m.at, earliest=m.earliest):
            lifecycle_store.record_phase(db, one_by_one.id, earliest=m.earliest, facts=m.facts)
    assert _state(db, batched.id) == _state(db, one_by_one.id)
