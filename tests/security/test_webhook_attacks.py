"""An attacker against the running sidecar (gunicorn, as the Procfile starts it): forged, tampered,
stale and replayed provider webhooks change nothing.

Twilio's signature carries no timestamp, so a captured callback stays correctly signed for ever:
its replay must be acknowledged (Twilio would otherwise retry it) and store nothing new.
"""

from __future__ import annotations

import time

import requests

from core.db import CALL_EVENTS, CALLS
from tests.e2e.conftest import Stack
from tests.factories import insert_launched_call
from tests.support.webhooks import (
    TWILIO_PATH,
    ULTRAVOX_PATH,
    full_sequence,
    twilio_headers,
    ultravox_request,
)


def _post(stack: Stack, path: str, data, headers: dict[str, str]) -> int:
    return requests.post(stack.sidecar_url + path, data=data, headers=headers, timeout=15).status_code


def _events(stack: Stack, call_id: str) -> int:
    return stack.db[CALL_EVENTS].count_documents({"call_id": call_id})


def test_forged_tampered_and_stale_webhooks_are_refused_and_store_nothing(stack) -> None:
    call = insert_launched_call(stack.db, job_id="security-forged")
    seq = full_sequence(call)
    completed = seq[3][1]
    ended = seq[6][1]
    attempts = [
        ("no Twilio signature", TWILIO_PATH, completed, {}, 403),
        ("a made-up Twilio signature", TWILIO_PATH, completed, {"X-Twilio-Signature": "AAAA"}, 403),
        ("a signed form with its status changed", TWILIO_PATH, {**completed, "CallStatus": "busy"},
         twilio_headers(completed), 403),
        ("signed for another address", TWILIO_PATH, completed,
         twilio_headers(completed, base="http://internal.example:8001"), 403),
        ("no Ultravox signature", ULTRAVOX_PATH, ultravox_request(*ended)[0], {}, 401),
        ("signed with the wrong secret", ULTRAVOX_PATH, *ultravox_request(*ended, secret="guessed")),
        ("a year-old timestamp", ULTRAVOX_PATH,
         *ultravox_request(*ended, ts="2025-01-01T00:00:00+00:00")),
    ]
    for label, path, data, headers, *expected in attempts:
        status = _post(stack, path, data, headers)
        assert status == (expected[0] if expected else 401), label
    assert _events(stack, call.id) == 0
    stored = stack.db[CALLS].find_one({"_id": call.id})
    assert stored["status"] == "dialing" and "twilio_status" not in stored


def test_a_replayed_correctly_signed_callback_is_acknowledged_and_stores_nothing_new(stack) -> None:
    call = insert_launched_call(stack.db, job_id="security-replay")
    seq = full_sequence(call)
    ringing, answered = seq[1][1], seq[2][1]
    for form in (ringing, answered):
        assert _post(stack, TWILIO_PATH, form, twilio_headers(form)) == 200
    body, headers = ultravox_request(*seq[4][1])
    assert _post(stack, ULTRAVOX_PATH, body, headers) == 200
    # Answered once stored; the sidecar's applier puts them on the call just after.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and stack.db[CALL_EVENTS].count_documents(
            {"call_id": call.id, "applied": False}):
        time.sleep(0.05)
    events, call_after = _events(stack, call.id), stack.db[CALLS].find_one({"_id": call.id})
    assert events == 3 and call_after.get("twilio_status") == "in-progress"

    # The attacker captured the earlier "ringing" callback and the Ultravox event and sends
    # them again, many times: acknowledged (a provider would retry a refusal), nothing stored,
    # and the call does not step back to ringing.
    for _ in range(5):
        assert _post(stack, TWILIO_PATH, ringing, twilio_headers(ringing)) == 200
        assert _post(stack, ULTRAVOX_PATH, body, headers) == 200
    assert _events(stack, call.id) == events
    replayed = stack.db[CALLS].find_one({"_id": call.id})
    assert replayed["twilio_status"] == "in-progress"
    assert replayed["status"] == call_after["status"]
