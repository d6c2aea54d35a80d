"""One call's life as the call page shows it: provider events, the timeline of its steps and
the transcript turns. Pure functions over typed documents."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, InvalidOperation

from core import crypto
from core.documents.call import Call
from core.documents.event import Event
from core.labels import Kind, label
from core.review.models import EventEntry, Message, StoredTranscript, TimelineEntry
from core.usage.costs import money_text

_MAX_MESSAGES = 5000  # shown per transcript (a 60-minute call has a few hundred turns)

_TWILIO_STEPS = {
    "initiated": "dialled",
    "queued": "dialled",
    "ringing": "ringing",
    "in-progress": "answered",
    "answered": "answered",
    "completed": "ended",
    "busy": "ended",
    "no-answer": "ended",
    "failed": "ended",
    "canceled": "ended",
}
_ULTRAVOX_STEPS = {
    "call.started": "agent ready",
    "call.joined": "answered",
    "call.ended": "ended",
    "call.billed": "billed",
}
TIMELINE_STEPS: tuple[str, ...] = ("queued", "dialled", "ringing", "answered", "ended", "billed", "priced")
# The time each step leaves on the call document, used when no event says when it happened.
_DOC_TIMES = {
    "queued": "created_at",
    "dialled": "dialed_at",
    "ringing": "ringing_at",
    "answered": "answered_at",
    "ended": "ended_at",
    "billed": "billed_at",
    "priced": "priced_at",
}


# What each provider event says, in words (the event log and the timeline show these).
_TWILIO_WORDS = {
    "initiated": "the phone network started the call",
    "queued": "the phone network queued the call",
    "ringing": "the phone is ringing",
    "in-progress": "answered",
    "answered": "answered",
    "completed": "the call ended",
    "busy": "the line was busy",
    "no-answer": "nobody answered",
    "failed": "the call could not be connected",
    "canceled": "the call was cancelled",
}
_ULTRAVOX_WORDS = {
    "call.started": "the agent is ready",
    "call.joined": "the agent joined the call",
    "call.ended": "the conversation ended",
    "call.billed": "the AI time was billed",
}
_BILLING_WORDS = {"BILLING_STATUS_BILLED": "billed", "BILLING_STATUS_FREE": "not charged",
                  "BILLING_STATUS_PENDING": "billing pending"}


def _seconds(value: object) -> str:
    """A provider duration ("108s", 42, "120.0") as m:ss; the raw text if it is no number."""
    text = str(value).strip().removesuffix("s")
    try:
        whole = round(float(text))
    except ValueError:
        return str(value)
    return f"{whole // 60}:{whole % 60:02d}"


def event_entry(event: Event) -> EventEntry:
    """A stored provider event as one line of the event log, in words, with the step it marks."""
    payload = event.payload
    if event.provider == "twilio":
        step = _TWILIO_STEPS.get(event.kind, event.kind)
        detail = "Phone: " + _TWILIO_WORDS.get(event.kind, event.kind.replace("-", " "))
        if payload.get("AnsweredBy"):
            detail += f" by {label(Kind.ANSWERED_BY, payload['AnsweredBy'])}"
        if payload.get("CallDuration"):
            detail += f", after {_seconds(payload['CallDuration'])}"
    else:
        call = payload.get("call") or {}
        step = _ULTRAVOX_STEPS.get(event.kind, event.kind)
        detail = "Agent: " + _ULTRAVOX_WORDS.get(event.kind, event.kind.replace(".", " ").replace("_", " "))
        if call.get("endReason"):
            detail += f" ({label(Kind.END_REASON, call['endReason'])})"
        if call.get("billedDuration"):
            detail += f", {_seconds(call['billedDuration'])} billed"
    return EventEntry(
        step=step,
        at=event.occurred_at or event.received_at,
        received_at=event.received_at,
        detail=detail,
        source=event.source or "webhook",
    )


def timeline(call: Call, events: list[EventEntry]) -> list[TimelineEntry]:
    """One entry per life step: the earliest event time, else the time written on the call."""
    steps: dict[str, TimelineEntry] = {}
    for ev in events:
        if ev.step not in TIMELINE_STEPS:
            continue
        seen = steps.get(ev.step)
        if seen is None or (ev.at and (seen.at is None or ev.at < seen.at)):
            steps[ev.step] = TimelineEntry(step=ev.step, at=ev.at, detail=ev.detail)
    for step, field in _DOC_TIMES.items():
        at = getattr(call, field)
        if step not in steps and at:
            steps[step] = TimelineEntry(step=step, at=at, detail="written on the call record")
    if "billed" not in steps and call.billing_status:
        seconds = call.billed_duration_seconds
        billed = _seconds(seconds) if seconds is not None else "length unknown"
        status = _BILLING_WORDS.get(call.billing_status, call.billing_status.replace("_", " ").lower())
        steps["billed"] = TimelineEntry(step="billed", at=None, detail=f"AI time {status}: {billed}")
    if call.telephony_price is not None:
        price = f"Phone cost: {_price(call.telephony_price, call.price_unit)}"
        if "priced" in steps:
            steps["priced"] = replace(steps["priced"], detail=price)
        else:
            steps["priced"] = TimelineEntry(step="priced", at=None, detail=price)
    return [steps[s] for s in TIMELINE_STEPS if s in steps]


def _speaker(role: str) -> str:
    if role == "agent":
        return "agent"
    if role == "user":
        return "candidate"
    return "tool"


def _words(text: str | None) -> str:
    try:
        return str(crypto.decrypt(text) or "")
    except crypto.CryptoError:
        return "(cannot be decrypted: check DATA_ENCRYPTION_KEY and DATA_ENCRYPTION_OLD_KEYS)"


def transcript_messages(transcript: StoredTranscript | None) -> list[Message]:
    """The stored transcript as turns of agent, candidate and tool (bounded)."""
    stored = (transcript.messages if transcript else None) or []
    return [
        Message(
            speaker=_speaker(str(m.role or "")),
            text=_words(m.text),
            start_s=m.start_s,
            end_s=m.end_s,
            tool=m.tool,
        )
        for m in stored[:_MAX_MESSAGES]
    ]


def _price(raw: object, unit: str | None) -> str:
    # Twilio writes a charge as a negative decimal string ("-0.02800"): shown as a cost.
    try:
        amount = abs(Decimal(str(raw)))
    except (InvalidOperation, ValueError):
        return f"{raw} {unit or ''}".strip()
    return money_text(amount, unit or "")
