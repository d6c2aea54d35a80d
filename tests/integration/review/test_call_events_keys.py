"""The call page reads a call's provider events on their unique dedupe keys (the embedded server
scans for anything else): the same events as the read by call id, for events stored by the real
webhook parsers and ingest, never another call's, and the plain read for a call without both ids."""

from __future__ import annotations

from core.db import CALL_EVENTS
from core.lifecycle import ingest
from core.lifecycle.events import dedupe_keys_of, parse_twilio, parse_ultravox
from core.review import detail as review_detail
from core.review import store as review_store
from tests.support.apptest import make_user
from tests.support.review_seed import add_call, add_candidate, add_job


def _ids(events) -> list[str]:
    return [e.id for e in events]


def _screened(db, phone: str) -> tuple[str, dict]:
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann Archer", phone, [job])
    call_id = add_call(db, cand, job, status="completed", duration=120)
    return call_id, db["calls"].find_one({"_id": call_id})


def test_events_stored_by_the_ingest_are_read_on_their_keys(db) -> None:
    call_id, call = _screened(db, "+12015550101")
    sid, uv = call["twilio_call_sid"], call["ultravox_call_id"]
    forms = [{"CallSid": sid, "CallStatus": s, "SequenceNumber": str(n)}
             for n, s in enumerate(["initiated", "ringing", "in-progress", "completed"])]
    forms.append({"CallSid": sid, "CallStatus": "completed"})  # no sequence number: keyed by status
    for form in forms:
        ingest.store_event(db, parse_twilio(form, call_id))
    for event in ("call.joined", "call.ended"):
        ingest.store_event(db, parse_ultravox({"event": event, "call": {"callId": uv}}))
    by_id = review_store.call_events(db, call_id, 200)
    keyed = review_store.call_events(db, call_id, 200, dedupe_keys_of(uv, sid))
    assert len(by_id) == 7
    assert sorted(_ids(keyed)) == sorted(_ids(by_id))
    assert [e.received_at for e in keyed] == sorted(e.received_at for e in keyed)  # in the order received
    shown = review_detail.call_detail(db, call_id, make_user(db, "recruiter"))
    assert len(shown.events) == 7


def test_a_keyed_read_keeps_only_this_calls_events_and_a_call_without_ids_reads_by_id(db) -> None:
    call_id, call = _screened(db, "+12015550102")
    sid, uv = call["twilio_call_sid"], call["ultravox_call_id"]
    ingest.store_event(db, parse_twilio({"CallSid": sid, "CallStatus": "ringing", "SequenceNumber": "1"},
                                        call_id))
    # An event of the same provider call linked to another call (as a wrong link would be) is not ours.
    db[CALL_EVENTS].update_one({"dedupe_key": f"tw:{sid}:1"}, {"$set": {"call_id": "someone-else"}})
    assert review_store.call_events(db, call_id, 200, dedupe_keys_of(uv, sid)) == []
    db[CALL_EVENTS].update_one({"dedupe_key": f"tw:{sid}:1"}, {"$set": {"call_id": call_id}})
    assert len(review_store.call_events(db, call_id, 200, dedupe_keys_of(uv, sid))) == 1
    # Before the dial stored both provider ids, the page reads by call id.
    db["calls"].update_one({"_id": call_id}, {"$unset": {"ultravox_call_id": ""}})
    ingest.store_event(db, parse_twilio({"CallSid": sid, "CallStatus": "in-progress",
                                         "SequenceNumber": "2"}, call_id))
    shown = review_detail.call_detail(db, call_id, make_user(db, "recruiter"))
    assert len(shown.events) == 2
