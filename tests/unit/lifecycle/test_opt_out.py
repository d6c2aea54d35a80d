"""The spoken opt-out matcher and the Twilio status mapping (pure rules)."""

from __future__ import annotations

import pytest

from core.documents.status import CallStatus
from core.lifecycle import events
from core.lifecycle.opt_out import detect_opt_out


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "agent", "text": "Hi, is now a good time?"}, {"role": "user", "text": text}]


@pytest.mark.parametrize("text", [
    "No. Please stop calling me, don't call me again.",
    "Please stop calling me.",
    "Do not call me again!",
    "Don\u2019t ever call me again",
    "never call this number again",
    "Take me off your calling list, thanks.",
    "Remove my number from your list",
    "Put me on your do-not-call list.",
    "I don't want any more calls from you",
    "I do not want you to call me anymore.",
    "STOP CALLING ME",
])
def test_opt_out_phrases(text: str) -> None:
    assert detect_opt_out(_user(text))


@pytest.mark.parametrize("text", [
    "Sure, go ahead.",
    "You can call me again tomorrow afternoon.",
    "Please don't stop calling me, I want this job!",
    "I didn't say stop calling me.",
    "Will you call me back later?",
    "My last job was at a call centre where people asked us to stop calling them.",
    "I'd want to be in the market range for the role.",
])
def test_not_opt_out(text: str) -> None:
    assert detect_opt_out(_user(text)) is None


def test_only_the_candidate_counts() -> None:
    messages = [{"role": "agent", "text": "If you like, we can stop calling you."},
                {"role": "user", "text": "No, that's fine."}]
    assert detect_opt_out(messages) is None


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
