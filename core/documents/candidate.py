"""A candidate (`candidates`): one person, one phone number, one or more jobs."""

from __future__ import annotations

from pydantic import Field

from core.documents.base import Document, Instant


class Candidate(Document):
    """One candidate as stored; `phone` and `email` are ciphertext when encryption is on."""

    name: str = ""
    name_lower: str = ""
    phone: str | None = None
    phone_hash: str | None = None
    phone_last4: str | None = None
    email: str | None = None
    timezone: str | None = None
    consent: bool = False
    do_not_call: bool = False
    do_not_call_at: Instant = None
    do_not_call_call_id: str | None = None
    do_not_call_reason: str | None = None
    job_ids: list[str] = Field(default_factory=list)
    notes: str | None = None
    source: str | None = None
    created_by: str | None = None
    created_at: Instant = None
    updated_at: Instant = None
