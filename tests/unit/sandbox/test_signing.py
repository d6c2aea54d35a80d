"""The sandbox's webhook signer: Twilio's published vector and Ultravox's scheme, with rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac

from twilio.request_validator import RequestValidator

from sandbox.signing import twilio_signature, ultravox_signature, verify_ultravox_signature

# Twilio's documented example (providers.md section 2.4).
_TW_TOKEN = "12345"
_TW_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
_TW_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
_TW_EXPECTED = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_sandbox_signer_reproduces_twilios_published_vector() -> None:
    assert twilio_signature(_TW_URL, _TW_PARAMS, _TW_TOKEN) == _TW_EXPECTED


def test_request_validator_accepts_the_vector_and_rejects_tampering() -> None:
    validator = RequestValidator(_TW_TOKEN)
    assert validator.validate(_TW_URL, _TW_PARAMS, _TW_EXPECTED)
    assert not validator.validate(_TW_URL, {**_TW_PARAMS, "Digits": "9999"}, _TW_EXPECTED)
    assert not validator.validate(_TW_URL.replace("https", "http"), _TW_PARAMS, _TW_EXPECTED)
    assert not RequestValidator("54321").validate(_TW_URL, _TW_PARAMS, _TW_EXPECTED)


def test_twilio_signature_by_hand_matches_the_algorithm() -> None:
    signed = _TW_URL + "".join(k + _TW_PARAMS[k] for k in sorted(_TW_PARAMS))
    digest = hmac.new(_TW_TOKEN.encode(), signed.encode(), hashlib.sha1).digest()
    assert base64.b64encode(digest).decode() == _TW_EXPECTED


def test_ultravox_signature_is_hmac_sha256_over_body_then_timestamp() -> None:
    body = b'{"event":"call.ended","call":{"callId":"c1"}}'
    timestamp = "2026-01-02T03:04:05.000006Z"
    expected = hmac.new(b"s3cret", body + timestamp.encode(), hashlib.sha256).hexdigest()
    assert ultravox_signature(body, timestamp, "s3cret") == expected
    # The wrong construction some code uses (timestamp "." body) must not match.
    wrong = hmac.new(b"s3cret", timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert expected != wrong


def test_ultravox_verification_supports_rotation_and_rejects_changes() -> None:
    body, ts = b'{"a":1}', "2026-01-02T03:04:05Z"
    header = f"{ultravox_signature(body, ts, 'old')},{ultravox_signature(body, ts, 'new')}"
    assert verify_ultravox_signature(body, ts, header, ["new"])
    assert verify_ultravox_signature(body, ts, header, ["old"])
    assert not verify_ultravox_signature(body, ts, header, ["other"])
    assert not verify_ultravox_signature(b'{"a":2}', ts, header, ["new"])
    assert not verify_ultravox_signature(body, "2026-01-02T03:04:06Z", header, ["new"])
    assert not verify_ultravox_signature(body, ts, "", ["new"])
