"""The sidecar on the real database: store once, apply forward, refuse bad input, survive outages."""

from __future__ import annotations

import json
import logging
import random
import threading
from pathlib import Path

import pytest
from pymongo import MongoClient

from core import db as dbmod
from core.db import CALL_EVENTS, CALLS
from core.documents.call import Call
from core.lifecycle import ingest, reconcile
from sidecar.app import create_app
from tests.factories import call as build_call
from tests.factories import insert_call, insert_launched_call
from tests.support.webhooks import (
    TWILIO_PATH,
    ULTRAVOX_PATH,
    deliver,
    full_sequence,
    sign_ultravox,
    twilio_headers,
    ultravox_request,
)
from tools.embedded_db import launcher as embedded_db

# What must be identical whatever order the events arrived in.
FINAL_FIELDS = (
    "status", "twilio_status", "answered_by", "duration_seconds", "end_reason", "summary",
    "short_summary", "billing_status", "billed_duration_seconds", "transcript_status",
    "ultravox_ended", "needs_followup", "dialed_at", "ringing_at", "answered_at", "ended_at",
    "joined_at", "ultravox_ended_at", "open_key",
)


@pytest.fixture
def client(db):
    return create_app(db, followup_in_background=False).test_client()


def _final(db, call_id: str) -> dict:
    doc = db[CALLS].find_one({"_id": call_id})
    return {k: doc.get(k) for k in FINAL_FIELDS}


def test_full_sequence_in_order(client, db) -> None:
    call = insert_launched_call(db)
    for item in full_sequence(call):
        assert deliver(client, item).status_code == 200
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["status"] == "completed" and "open_key" not in doc
    assert doc["duration_seconds"] == 49 and doc["answered_by"] == "human"
    assert doc["billed_duration_seconds"] == 48.5
    assert doc["billing_status"] == "BILLING_STATUS_BILLED"
    assert doc["summary"] == "Good fit." and doc["end_reason"] == "hangup"
    assert doc["needs_followup"] is True and doc["transcript_status"] == "pending"
    assert [h["status"] for h in doc["status_history"]] == ["ringing", "in_progress", "completed"]
    stored = list(db[CALL_EVENTS].find({"call_id": call.id}))
    assert len(stored) == 8 and all(e["applied"] for e in stored)
    # No phone number is stored anywhere in the event log.
    assert "+1" not in json.dumps([e["payload"] for e in stored])


def test_same_event_ten_times_is_stored_and_applied_once(client, db) -> None:
    call = insert_launched_call(db)
    ringing = full_sequence(call)[1]
    answers = [deliver(client, ringing) for _ in range(10)]
    assert all(a.status_code == 200 for a in answers)
    assert [a.json["stored"] for a in answers] == [True] + [False] * 9
    assert db[CALL_EVENTS].count_documents({"call_id": call.id}) == 1
    doc = db[CALLS].find_one({"_id": call.id})
    assert [h["status"] for h in doc["status_history"]] == ["ringing"]


def test_every_delivery_order_gives_the_same_final_state(client, db) -> None:
    rng = random.Random(20260501)
    reference = insert_launched_call(db)
    for item in full_sequence(reference):
        deliver(client, item)
    expected = _final(db, reference.id)
    orders = [list(reversed(range(8)))] + [rng.sample(range(8), 8) for _ in range(40)]
    for order in orders:
        call = insert_launched_call(db)
        seq = full_sequence(call)
        for i in order:
            assert deliver(client, seq[i]).status_code == 200
        assert _final(db, call.id) == expected, order


def test_voicemail_and_unanswered_outcomes(client, db) -> None:
    cases = {"voicemail": ("completed", {"AnsweredBy": "machine_start"}),
             "busy": ("busy", {}), "no_answer": ("no-answer", {}), "failed": ("failed", {}),
             "canceled": ("canceled", {})}
    for expected, (status, extra) in cases.items():
        call = insert_launched_call(db)
        form = {"CallSid": call.twilio_call_sid, "CallStatus": status, "SequenceNumber": "2",
                **extra}
        assert client.post(TWILIO_PATH, data=form, headers=twilio_headers(form)).status_code == 200
        doc = db[CALLS].find_one({"_id": call.id})
        assert doc["status"] == expected and "open_key" not in doc
        # A late ringing changes nothing once the call has ended.
        late = {"CallSid": call.twilio_call_sid, "CallStatus": "ringing", "SequenceNumber": "1"}
        client.post(TWILIO_PATH, data=late, headers=twilio_headers(late))
        assert db[CALLS].find_one({"_id": call.id})["status"] == expected


def test_a_failed_callback_keeps_the_twilio_code_and_no_number(client, db) -> None:
    call = insert_launched_call(db)
    form = {"CallSid": call.twilio_call_sid, "CallStatus": "failed", "SequenceNumber": "2",
            "ErrorCode": "13224", "ErrorMessage": "Dial: invalid number +14155550100"}
    assert client.post(TWILIO_PATH, data=form, headers=twilio_headers(form)).status_code == 200
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["status"] == "failed" and doc["provider_error_code"] == 13224
    assert "13224" in doc["failure_reason"] and "5550100" not in doc["failure_reason"]
    stored = json.dumps([e["payload"] for e in db[CALL_EVENTS].find({"call_id": call.id})])
    assert "5550100" not in stored


def _bad_requests(call: Call) -> list[tuple[str, bytes | dict, dict, int]]:
    uv = call.ultravox_call_id
    bad = []
    for body in (b"{not json", b"\xff\xfe", b"[" * 5000 + b"]" * 5000, b"null", b'"x"'):
        bad.append((ULTRAVOX_PATH, *sign_ultravox(body), 400))
    for payload in (
        {"event": "call.ended", "call": {"callId": {"$ne": None}}},
        {"event": "call.ended", "call": {"callId": uv, "summary": {"$set": {"status": "x"}}}},
        {"event": "call.ended", "call": {"callId": uv, "$where": "sleep(1)"}},
        {"event": {"$gt": ""}, "call": {"callId": uv}},
        {"event": "call.ended", "call": {"callId": uv, "endReason": {"$ne": 1}}},
        {"event": "call.ended", "call": {"callId": uv, "metadata": {"a": {"$ne": 1}}}},
    ):
        bad.append((ULTRAVOX_PATH, *ultravox_request(payload["event"], payload["call"]), 400))
    sid = call.twilio_call_sid
    for form in (
        {"CallSid": "$ne", "CallStatus": "completed"},
        {"CallSid": sid, "CallStatus": "completed", "$where": "1"},
        {"CallSid": sid, "CallStatus": "$set"},
        {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": "1; drop"},
        {"CallStatus": "completed"},
    ):
        bad.append((TWILIO_PATH, form, twilio_headers(form), 400))
    big = b'{"event":"call.ended","call":{"callId":"' + b"a" * 300_000 + b'"}}'
    bad.append((ULTRAVOX_PATH, *sign_ultravox(big), 413))
    big_form = {"CallSid": sid, "CallStatus": "completed", "Pad": "x" * 300_000}
    bad.append((TWILIO_PATH, big_form, {}, 413))
    return bad


def test_malformed_oversized_and_injection_bodies_change_nothing(client, db) -> None:
    call = insert_launched_call(db)
    before = db[CALLS].find_one({"_id": call.id})
    for path, body, headers, expected in _bad_requests(call):
        answer = client.post(path, data=body, headers=headers)
        assert answer.status_code == expected, (path, str(body)[:80])
    # A JSON body to the form endpoint: signed (no params), still refused.
    answer = client.post(TWILIO_PATH, data=b"{}", headers={
        **twilio_headers({}), "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert db[CALL_EVENTS].count_documents({}) == 0
    assert db[CALLS].find_one({"_id": call.id}) == before


def test_forged_or_stale_requests_are_refused_and_logged_once(client, db, caplog) -> None:
    call = insert_launched_call(db)
    seq = full_sequence(call)
    form = seq[3][1]
    body, headers = ultravox_request(*seq[6][1])
    cases = [
        (TWILIO_PATH, form, {}, 403),
        (TWILIO_PATH, form, {"X-Twilio-Signature": "AAAA"}, 403),
        (TWILIO_PATH, {**form, "CallStatus": "busy"}, twilio_headers(form), 403),
        (TWILIO_PATH, form, twilio_headers(form, base="http://internal:8001"), 403),
        (ULTRAVOX_PATH, body, {}, 401),
        (ULTRAVOX_PATH, body[:-2] + b" }", headers, 401),
        (ULTRAVOX_PATH, *ultravox_request(*seq[6][1], secret="wrong"), 401),
        (ULTRAVOX_PATH, *ultravox_request(*seq[6][1], ts="2020-01-01T00:00:00+00:00"), 401),
    ]
    for path, data, hdrs, expected in cases:
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert client.post(path, data=data, headers=hdrs).status_code == expected
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        text = warnings[0].getMessage()
        assert "+1" not in text and "Good fit" not in text and "summary" not in text
    assert db[CALL_EVENTS].count_documents({}) == 0
    assert db[CALLS].find_one({"_id": call.id})["status"] == "dialing"


def test_public_base_url_behind_a_proxy(db, monkeypatch) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://hooks.example.com/")
    from core.config import get_settings

    get_settings.cache_clear()
    client = create_app(db, followup_in_background=False).test_client()
    call = insert_launched_call(db)
    form = full_sequence(call)[1][1]
    # The test client's own URL is http://localhost; Twilio signed the public https URL.
    signed = twilio_headers(form, base="https://hooks.example.com")
    assert client.post(TWILIO_PATH, data=form, headers=signed).status_code == 200
    local = twilio_headers(form, base="http://localhost")
    assert client.post(TWILIO_PATH, data=form, headers=local).status_code == 403


def test_unknown_ultravox_event_type_is_acknowledged_not_stored(client, db) -> None:
    body, headers = ultravox_request("call.transferred", {"callId": "abc"})
    answer = client.post(ULTRAVOX_PATH, data=body, headers=headers)
    assert answer.status_code == 200 and answer.json == {"ignored": True}
    assert db[CALL_EVENTS].count_documents({}) == 0


def test_unknown_call_is_an_orphan_then_applied_once_the_call_appears(client, db) -> None:
    call = build_call(id="late", ultravox_call_id="uv-late", twilio_call_sid="CA" + "b" * 32)
    seq = full_sequence(call)
    answer = deliver(client, seq[1])
    assert answer.status_code == 200 and answer.json["orphan"] is True
    orphan = db[CALL_EVENTS].find_one({})
    assert orphan["call_id"] is None and orphan["applied"] is False
    # The launcher writes the call (with the CallSid) a moment later; reconcile applies it.
    insert_call(db, id="late", status="dialing", open_key="c:j", twilio_call_sid=call.twilio_call_sid,
                created_at=dbmod.utcnow(), updated_at=dbmod.utcnow())
    assert "events applied 1" in reconcile.run_once(db)
    assert db[CALLS].find_one({"_id": "late"})["status"] == "ringing"
    assert db[CALL_EVENTS].find_one({})["applied"] is True


def test_ultravox_event_adopts_our_id_from_signed_metadata(client, db) -> None:
    call = insert_launched_call(db)
    db[CALLS].update_one({"_id": call.id}, {"$unset": {"ultravox_call_id": ""}})
    assert deliver(client, full_sequence(call)[5]).json["orphan"] is False
    doc = db[CALLS].find_one({"_id": call.id})
    assert doc["ultravox_call_id"] == call.ultravox_call_id and doc["status"] == "in_progress"


def test_twenty_threads_twenty_calls(db) -> None:
    app = create_app(db, followup_in_background=False)
    calls = [insert_launched_call(db) for _ in range(20)]
    errors: list[str] = []

    def run(call: Call, seed: int) -> None:
        client = app.test_client()
        seq = full_sequence(call)
        random.Random(seed).shuffle(seq)
        for item in seq + seq[:2]:  # plus a couple of duplicate deliveries
            code = deliver(client, item).status_code
            if code != 200:
                errors.append(f"{call.id}: {code}")

    threads = [threading.Thread(target=run, args=(c, i)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for call in calls:
        doc = db[CALLS].find_one({"_id": call.id})
        assert doc["status"] == "completed" and doc["billing_status"] == "BILLING_STATUS_BILLED"
        assert db[CALL_EVENTS].count_documents({"call_id": call.id, "applied": True}) == 8
    assert db[CALL_EVENTS].count_documents({}) == 160


def test_apply_crash_is_recovered_by_reconcile(client, db, monkeypatch) -> None:

    call = insert_launched_call(db)
    real = ingest.apply_event

    def broken(database, doc):
        raise RuntimeError("bug")

    monkeypatch.setattr(ingest, "apply_event", broken)
    assert deliver(client, full_sequence(call)[1]).status_code == 200  # stored: acknowledged
    assert db[CALL_EVENTS].find_one({})["applied"] is False
    # The provider's retry finds it stored but unapplied and applies it.
    monkeypatch.setattr(ingest, "apply_event", real)
    assert deliver(client, full_sequence(call)[1]).status_code == 200
    assert db[CALLS].find_one({"_id": call.id})["status"] == "ringing"
    assert db[CALL_EVENTS].find_one({})["applied"] is True
    # And without a retry, reconcile does it.
    monkeypatch.setattr(ingest, "apply_event", broken)
    deliver(client, full_sequence(call)[2])
    monkeypatch.setattr(ingest, "apply_event", real)
    assert "events applied 1" in reconcile.run_once(db)
    assert db[CALLS].find_one({"_id": call.id})["status"] == "in_progress"


@pytest.mark.slow
def test_database_stopped_then_restarted_nothing_lost(tmp_path: Path, test_env) -> None:
    port = embedded_db.free_port()
    data = tmp_path / "h2" / "webhooks.mv"
    server = embedded_db.start(port, data, timeout=60)
    mongo = MongoClient(server.uri, tz_aware=True, serverSelectionTimeoutMS=800,
                        connectTimeoutMS=800, socketTimeoutMS=3000)
    try:
        database = mongo["outage"]
        dbmod.ensure_indexes(database)
        call = insert_launched_call(database)
        client = create_app(database, followup_in_background=False).test_client()
        seq = full_sequence(call)
        assert deliver(client, seq[1]).status_code == 200
        server.stop()
        down = deliver(client, seq[2])
        assert down.status_code == 503 and down.headers.get("Retry-After")
        server = embedded_db.start(port, data, timeout=60)
        # The provider retries the refused delivery, then the rest arrive.
        for item in [seq[2], seq[3], seq[6], seq[7]]:
            assert deliver(client, item).status_code == 200
        doc = database[CALLS].find_one({"_id": call.id})
        assert doc["status"] == "completed" and doc["summary"] == "Good fit."
        assert database[CALL_EVENTS].count_documents({"call_id": call.id}) == 5
        # Stopped again cleanly and restarted: everything acknowledged is still there.
        server.stop()
        server = embedded_db.start(port, data, timeout=60)
        assert database[CALL_EVENTS].count_documents({"call_id": call.id,
                                                      "applied": True}) == 5
    finally:
        mongo.close()
        server.stop()
