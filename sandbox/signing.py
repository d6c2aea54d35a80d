"""Webhook signatures exactly as Twilio and Ultravox compute them (used by the sandbox and tests)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """X-Twilio-Signature for a form POST to `url` (HMAC-SHA1 of URL + sorted params, Base64)."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))


def ultravox_signature(body: bytes, timestamp: str, secret: str) -> str:
    """X-Ultravox-Webhook-Signature: hex HMAC-SHA256 of the raw body followed by the timestamp."""
    return hmac.new(secret.encode("utf-8"), body + timestamp.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def verify_ultravox_signature(body: bytes, timestamp: str, header: str, secrets: list[str]) -> bool:
    """True if any comma-separated signature in `header` matches any secret (rotation-safe)."""
    given = [part.strip() for part in (header or "").split(",") if part.strip()]
    for secret in secrets:
        expected = ultravox_signature(body, timestamp, secret)
        if any(hmac.compare_digest(expected, sig) for sig in given):
            return True
    return False
