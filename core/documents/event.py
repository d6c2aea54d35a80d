"""A provider event (`call_events`): every webhook received, stored once, then applied."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.documents.base import Document, Instant


class Event(Document):
    """One stored event; `payload` is the sanitised webhook (no phone numbers)."""

    dedupe_key: str = ""
    provider: str = ""  # "ultravox" | "twilio"
    kind: str = ""
    call_id: str | None = None  # ours; None while the event is an orphan
    provider_call_id: str = ""
    call_hint: str | None = None  # our call id as the signed webhook named it
    payload: dict[str, Any] = Field(default_factory=dict)
    occurred_at: Instant = None
    received_at: Instant = None
    source: str = "webhook"  # "webhook" | "poll"
    applied: bool = False
    applied_at: Instant = None
    orphan: bool = False
    apply_attempts: int = 0
    # An orphan is looked at again with growing pauses, so many that never link cannot crowd
    # out the retries of real events.
    orphan_checks: int = 0
    orphan_next_check_at: Instant = None
