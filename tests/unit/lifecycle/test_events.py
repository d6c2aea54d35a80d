"""Provider webhooks read as events: the Twilio status mapping, sanitised payloads, bad bodies."""

from __future__ import annotations

import pytest

from core.documents.status import CallStatus
from core.lifecycle import events


@pytest.mark.parametrize(("status", "answered_by", "expected"), [
    ("initiated", None, CallStatus.DIALING),
    ("queued", None, CallStatus.DIALING),
    ("ringing", None, CallStatus.RINGING),
    ("in-progress", None, CallStatus.IN_PROGRESS),
    ("answered", None, CallStatus.IN_PROGRESS),
    ("completed", "human", CallStatus.COMPLETED),
    ("completed", None, CallStatus.COMPLETED),
    ("completed", "machine_start", CallStatus.VOICEMAIL),
    ("completed", "machine_end_beep", CallStatus.VOICEMAIL),
    ("busy", None, CallStatus.BUSY),
    ("no-answer", None, CallStatus.NO_ANSWER),
    ("failed", None, CallStatus.FAILED),
    ("canceled", None, CallStatus.CANCELED),
    ("bogus", None, None),
])
def test_twilio_status_mapping(status: str, answered_by: str | None, expected) -> None:
    assert events.twilio_status(status, answered_by) == expected


def test_twilio_payload_drops_phone_numbers() -> None:
    form = {"CallSid": "CA" + "a" * 32, "CallStatus": "ringing", "SequenceNumber": "1",
            "From": "+15005550006", "To": "+14155550100", "Caller": "+15005550006",
            "Called": "+14155550100", "ToCity": "SF"}
    parsed = events.parse_twilio(form)
    assert parsed.dedupe_key == f"tw:CA{'a' * 32}:1"
    assert "+1" not in repr(parsed.payload)


def test_twilio_error_message_keeps_no_phone_number() -> None:
    form = {"CallSid": "CA" + "a" * 32, "CallStatus": "failed", "SequenceNumber": "2",
            "ErrorCode": "13224", "ErrorMessage": "Cannot dial +14155550100 or 4155550100"}
    parsed = events.parse_twilio(form)
    assert parsed.payload["ErrorCode"] == "13224"
    assert "5550100" not in parsed.payload["ErrorMessage"]
    assert parsed.payload["ErrorMessage"].startswith("Cannot dial (number hidden)")


@pytest.mark.parametrize("body", [
    [], "x", {"event": "call.ended"}, {"event": "call.nope", "call": {"callId": "a"}},
    {"event": "call.ended", "call": {"callId": {"$ne": None}}},
    {"event": "call.ended", "call": {"callId": "abc", "summary": {"$set": {"status": "x"}}}},
    {"event": "call.ended", "call": {"callId": "abc", "$where": "1"}},
    {"event": "call.ended", "call": {"callId": "abc", "endReason": ["hangup"]}},
    {"event": "call.billed", "call": {"callId": "abc", "billedDuration": "lots"}},
    {"event": "call.ended", "call": {"callId": "../../etc"}},
])
def test_ultravox_bad_payloads(body) -> None:
    with pytest.raises(events.BadPayload):
        events.parse_ultravox(body)


def test_protobuf_durations_read_as_seconds() -> None:
    assert events.parse_duration("48.5s") == 48.5
    assert events.parse_duration(" 120s ") == 120.0
    assert events.parse_duration(None) is None and events.parse_duration("") is None
    assert events.parse_duration("lots") is None
