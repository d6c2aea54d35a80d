"""Webhook signatures: Ultravox (HMAC over body and timestamp) and Twilio (RequestValidator)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from twilio.request_validator import RequestValidator

from core.db import utcnow

# -- signatures ---------------------------------------------------------------------------


def ultravox_signature(body: bytes, timestamp: str, secret: str) -> str:
    """Hex HMAC-SHA256 of the raw body immediately followed by the timestamp header."""
    return hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def parse_timestamp(value: str) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive means UTC), or None."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except (ValueError, AttributeError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def verify_ultravox(
    body: bytes,
    timestamp: str | None,
    signatures: str | None,
    secrets: list[str],
    *,
    max_age_seconds: float,
    now: datetime | None = None,
) -> str | None:
    """None if the request is authentic and fresh, else the reason it is not (no secrets in it)."""
    if not timestamp or not signatures:
        return "missing signature headers"
    sent = parse_timestamp(timestamp)
    if sent is None:
        return "unreadable timestamp"
    age = ((now or utcnow()) - sent).total_seconds()
    # A timestamp from the future beyond the window is as suspicious as an old one.
    if abs(age) > max_age_seconds:
        return "stale timestamp"
    given = [s.strip() for s in signatures.split(",") if s.strip()]
    for secret in secrets:
        expected = ultravox_signature(body, timestamp, secret)
        # compare_digest on every candidate: timing says nothing about which one matched.
        if any(hmac.compare_digest(expected.encode(), s.encode()) for s in given):
            return None
    return "bad signature"


def verify_twilio(url: str, params: Any, signature: str | None, token: str) -> bool:
    """True if X-Twilio-Signature matches the URL Twilio called plus the POST parameters."""
    if not signature:
        return False
    return RequestValidator(token).validate(url, params, signature)
