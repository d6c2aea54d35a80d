"""What the people feature hands to pages and the CLI: candidates with their personal data
readable, and the CSV import's report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core import crypto
from core.documents.candidate import Candidate


@dataclass(frozen=True)
class CandidateProfile:
    """A candidate with its personal data decrypted (what the app shows and dials).

    Pages and exports get it through `core.people.visibility.visible`, which masks the phone
    and drops email and notes for roles that may not see them (`redacted` is then True).
    """

    id: str
    name: str
    phone: str
    email: str
    timezone: str
    consent: bool
    do_not_call: bool
    job_ids: list[str]
    notes: str
    source: str | None = None
    do_not_call_at: datetime | None = None
    do_not_call_call_id: str | None = None
    do_not_call_reason: str | None = None
    created_at: datetime | None = None
    region: str | None = None  # "US-CA" or a country code, from the record (core.people.places)
    recording_consent: bool = False  # agreed in advance to the call being recorded
    consent_source: str | None = None  # how consent was captured (None: not recorded)
    consent_at: datetime | None = None
    consent_by: str | None = None
    redacted: bool = False

    @classmethod
    def of(cls, doc: Candidate) -> CandidateProfile:
        """The profile of a stored candidate (decrypts the personal data)."""
        return cls(
            id=doc.id, name=crypto.decrypt(doc.name) or "", phone=crypto.decrypt(doc.phone) or "",
            email=crypto.decrypt(doc.email) or "", timezone=doc.timezone or "",
            consent=doc.consent, do_not_call=doc.do_not_call, job_ids=list(doc.job_ids),
            notes=crypto.decrypt(doc.notes) or "", source=doc.source, do_not_call_at=doc.do_not_call_at,
            do_not_call_call_id=doc.do_not_call_call_id, do_not_call_reason=doc.do_not_call_reason,
            created_at=doc.created_at, region=doc.region, recording_consent=doc.recording_consent,
            consent_source=doc.consent_source, consent_at=doc.consent_at, consent_by=doc.consent_by,
        )


@dataclass
class ImportRow:
    """One data row of an uploaded CSV and what the import does with it."""

    line: int
    name: str = ""
    input_phone: str = ""
    status: str = "rejected"  # "accepted" | "rejected" | "duplicate"
    reason: str | None = None
    note: str | None = None
    action: str | None = None  # accepted rows: "new" | "attach"
    existing_candidate_id: str | None = None
    zone: str | None = None  # the time zone calls will use, in words
    # Cleaned values of an accepted row.
    phone: str = ""
    email: str = ""
    timezone: str = ""
    consent: bool = False
    recording_consent: bool = False
    notes: str = ""
    region: str | None = None  # "US-CA" or a country code (core.people.places)


@dataclass
class ImportReport:
    """The preview of a CSV: each row accepted, rejected (with why) or a duplicate."""

    job_id: str
    job_title: str
    total: int
    accepted: int
    rejected: int
    duplicate: int
    ignored_columns: list[str] = field(default_factory=list)
    rows: list[ImportRow] = field(default_factory=list)


@dataclass
class ImportResult:
    """What a committed import saved."""

    job_id: str
    created: int
    attached: int
    rejected: int
    duplicate: int
    total: int
    report: ImportReport
