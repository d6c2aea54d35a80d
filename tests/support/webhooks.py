"""Signed provider webhooks for the sidecar and lifecycle tests: requests, one call's sequence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from twilio.request_validator import RequestValidator

from core.config import get_settings
from core.db import utcnow
from core.documents.call import Call
from core.lifecycle import signatures

TWILIO_PATH = "/webhooks/twilio/status"
ULTRAVOX_PATH = "/webhooks/ultravox"
T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


def ultravox_request(event: str, call: dict[str, Any], *, secret: str | None = None,
                     ts: str | None = None) -> tuple[bytes, dict[str, str]]:
    """Body and headers of an Ultravox webhook, signed like Ultravox does."""
    body = json.dumps({"event": event, "call": call}).encode()
    return sign_ultravox(body, secret=secret, ts=ts)


def sign_ultravox(body: bytes, *, secret: str | None = None,
                  ts: str | None = None) -> tuple[bytes, dict[str, str]]:
    """Headers signing an arbitrary body."""
    ts = ts or utcnow().isoformat()
    sig = signatures.ultravox_signature(body, ts, secret or get_settings().ultravox_secret)
    return body, {"X-Ultravox-Webhook-Timestamp": ts, "X-Ultravox-Webhook-Signature": sig,
                  "Content-Type": "application/json"}


def twilio_headers(form: dict[str, str], *, base: str | None = None) -> dict[str, str]:
    """X-Twilio-Signature for a status callback form, against the public URL."""
    url = (base or get_settings().webhook_base_url) + TWILIO_PATH
    return {"X-Twilio-Signature": RequestValidator(get_settings().twilio_token)
            .compute_signature(url, form)}


def full_sequence(call: Call) -> list[tuple[str, Any]]:
    """One answered call's whole event sequence: ("tw", form) and ("uv", (event, call)) items."""
    sid, uv = call.twilio_call_sid, call.ultravox_call_id

    def tw(seq: int, status: str, **extra: str) -> tuple[str, dict[str, str]]:
        ts = (T0 + timedelta(seconds=seq * 10)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        form = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "CallStatus": status,
                "SequenceNumber": str(seq), "Timestamp": ts, "From": "+15005550006",
                "To": "+14155550123", "Called": "+14155550123", "Direction": "outbound-api"}
        form.update(extra)
        return ("tw", form)

    base = {"callId": uv, "created": T0.isoformat(), "metadata": {"screeningId": call.id}}
    joined = {**base, "joined": (T0 + timedelta(seconds=21)).isoformat()}
    ended = {**joined, "ended": (T0 + timedelta(seconds=70)).isoformat(),
             "endReason": "hangup", "summary": "Good fit.", "shortSummary": "Fit"}
    billed = {**ended, "billedDuration": "48.5s", "billingStatus": "BILLING_STATUS_BILLED"}
    return [
        tw(0, "initiated"), tw(1, "ringing"), tw(2, "in-progress", AnsweredBy="human"),
        tw(3, "completed", AnsweredBy="human", CallDuration="49", Duration="1"),
        ("uv", ("call.started", base)), ("uv", ("call.joined", joined)),
        ("uv", ("call.ended", ended)), ("uv", ("call.billed", billed)),
    ]


def deliver(client, item: tuple[str, Any]):
    """POST one event of `full_sequence` through a Flask test client (or requests-like)."""
    kind, data = item
    if kind == "tw":
        return client.post(TWILIO_PATH, data=data, headers=twilio_headers(data))
    body, headers = ultravox_request(*data)
    return client.post(ULTRAVOX_PATH, data=body, headers=headers)
