"""Webhook signature checks: Twilio's published vector, the Ultravox scheme, rotation, freshness."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from core.lifecycle import signatures

# Twilio's published example (docs "webhooks security"; reproduced in providers.md §2.4).
TWILIO_TOKEN = "12345"
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
TWILIO_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="

SECRET = "whsec-test-secret"
NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
BODY = b'{"event":"call.ended","call":{"callId":"1d4e6f0a-0000-4000-8000-000000000001"}}'


def _sign(body: bytes, ts: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body + ts.encode(), hashlib.sha256).hexdigest()


def _verify(body: bytes, ts: str | None, sig: str | None, *, now: datetime = NOW) -> str | None:
    return signatures.verify_ultravox(body, ts, sig, [SECRET], max_age_seconds=300, now=now)


def test_twilio_published_vector_is_accepted() -> None:
    assert signatures.verify_twilio(TWILIO_URL, TWILIO_PARAMS, TWILIO_SIGNATURE, TWILIO_TOKEN)


@pytest.mark.parametrize("change", ["param", "url", "token", "missing"])
def test_twilio_any_change_is_refused(change: str) -> None:
    params, url, token, sig = dict(TWILIO_PARAMS), TWILIO_URL, TWILIO_TOKEN, TWILIO_SIGNATURE
    if change == "param":
        params["Digits"] = "1235"
    elif change == "url":
        url = url.replace("https://", "http://")  # what a proxy-unaware app would rebuild
    elif change == "token":
        token = "54321"
    else:
        sig = None
    assert not signatures.verify_twilio(url, params, sig, token)


def test_ultravox_scheme_body_then_timestamp() -> None:
    ts = NOW.isoformat()
    assert signatures.ultravox_signature(BODY, ts, SECRET) == _sign(BODY, ts)
    assert _verify(BODY, ts, _sign(BODY, ts)) is None
    # The wrong construction some code uses (timestamp + "." + body) must not pass.
    wrong = hmac.new(SECRET.encode(), ts.encode() + b"." + BODY, hashlib.sha256).hexdigest()
    assert _verify(BODY, ts, wrong) == "bad signature"


@pytest.mark.parametrize("ts", ["2026-05-01T12:00:00Z", "2026-05-01T12:00:00+00:00",
                                "2026-05-01T14:00:00+02:00", "2026-05-01T12:00:00.123456"])
def test_ultravox_timestamp_formats(ts: str) -> None:
    assert _verify(BODY, ts, _sign(BODY, ts)) is None


def test_ultravox_rotation_second_signature_valid() -> None:
    ts = NOW.isoformat()
    header = f"{_sign(BODY, ts, 'old-secret')}, {_sign(BODY, ts)}"
    assert _verify(BODY, ts, header) is None
    assert _verify(BODY, ts, f"{_sign(BODY, ts, 'a')},{_sign(BODY, ts, 'b')}") == "bad signature"


def test_ultravox_expired_and_future_timestamps() -> None:
    old = (NOW - timedelta(seconds=301)).isoformat()
    assert _verify(BODY, old, _sign(BODY, old)) == "stale timestamp"
    future = (NOW + timedelta(minutes=10)).isoformat()
    assert _verify(BODY, future, _sign(BODY, future)) == "stale timestamp"
    recent = (NOW - timedelta(seconds=299)).isoformat()
    assert _verify(BODY, recent, _sign(BODY, recent)) is None


def test_ultravox_missing_or_unreadable_headers() -> None:
    ts = NOW.isoformat()
    assert _verify(BODY, None, _sign(BODY, ts)) == "missing signature headers"
    assert _verify(BODY, ts, None) == "missing signature headers"
    assert _verify(BODY, ts, "") == "missing signature headers"
    assert _verify(BODY, "yesterday", _sign(BODY, "yesterday")) == "unreadable timestamp"


def test_ultravox_body_altered_by_one_byte() -> None:
    ts = NOW.isoformat()
    sig = _sign(BODY, ts)
    for i in (0, len(BODY) // 2, len(BODY) - 1):
        altered = BODY[:i] + bytes([BODY[i] ^ 1]) + BODY[i + 1:]
        assert _verify(altered, ts, sig) == "bad signature"
    # The timestamp is signed too: changing it breaks the signature.
    later = (NOW + timedelta(seconds=1)).isoformat()
    assert _verify(BODY, later, sig) == "bad signature"
