"""A candidate (`candidates`): one person, one phone number, one or more jobs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.documents.base import Document, Instant


class Candidate(Document):
    """One candidate as stored; `name`, `phone`, `email` and `notes` are ciphertext when
    encryption is on. `phone_hash` and `name_tokens` are keyed hashes under LOOKUP_HASH_KEY
    (`lookup_kid` names that key; absent: the hash predates it), `name_lower` is legacy."""

    name: str = ""
    name_lower: str = ""
    name_tokens: list[str] = Field(default_factory=list)
    phone: str | None = None
    phone_hash: str | None = None
    lookup_kid: str | None = None
    phone_last4: str | None = None
    email: str | None = None
    timezone: str | None = None
    # Where the candidate lives, for the laws that follow them: "US-CA" (a US state) or a country
    # code ("GB"); None: read from the number when needed (core.people.places).
    region: str | None = None
    consent: bool = False  # consent to be called
    # Consent to the call being recorded, given in advance (an import column, a manual edit): no
    # recording-consent question on the call (core.compliance.recording_consent).
    recording_consent: bool = False
    # How consent was captured while it is given ("import" | "cli" | "manual" | "demo" | "test"),
    # when and by whom; after a withdrawal, how and when it was withdrawn. None: not recorded.
    consent_source: str | None = None
    consent_at: Instant = None
    consent_by: str | None = None
    do_not_call: bool = False
    do_not_call_at: Instant = None
    do_not_call_call_id: str | None = None
    do_not_call_reason: str | None = None
    do_not_call_by: str | None = None  # who set it by hand (None: the candidate, on a call)
    do_not_call_lifted_at: Instant = None
    do_not_call_lifted_by: str | None = None
    job_ids: list[str] = Field(default_factory=list)
    # Jobs for which the candidate asked (on a call) for a person, an accommodation or another
    # format: {job_id: {"reason", "call_id", "at"}}; no further AI call for that job.
    human_requested: dict[str, dict[str, Any]] = Field(default_factory=dict)
    notes: str | None = None
    source: str | None = None
    # The record behind a team member's test call to their own number: not a candidate. Every
    # candidate list leaves it out, and its `phone_hash` is a placeholder, so no number lookup
    # (duplicates, imports, searches) ever finds it.
    test_contact: bool = False
    legal_hold: dict[str, Any] | None = None  # {"reason", "by", "at"}: no purge, no erasure while set
    created_by: str | None = None
    created_at: Instant = None
    updated_at: Instant = None
