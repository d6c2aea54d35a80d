"""Every stored code in the words a recruiter reads: call statuses, how a call ended, who
answered, decisions, roles, call openings, silence handling, batch and job states.

Pages and CSV exports show these words; `--json` output keeps the codes. An unknown code (a
newer provider value, say) is shown as words made from it, never as the bare code.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum

from core.agent.models import ConsentMethod, ConsentScope, EndBehavior, OpeningMode, Weekday
from core.agent.questions import QuestionType
from core.auth.roles import Role
from core.documents.batch import BatchStatus
from core.documents.job import JobStatus
from core.documents.status import CallStatus


class Kind(StrEnum):
    """The families of codes that have labels."""

    CALL_STATUS = "call_status"
    END_REASON = "end_reason"
    ANSWERED_BY = "answered_by"
    DECISION = "decision"
    ROLE = "role"
    OPENING = "opening"
    END_BEHAVIOR = "end_behavior"
    BATCH_STATUS = "batch_status"
    JOB_STATUS = "job_status"
    QUESTION_TYPE = "question_type"
    WEEKDAY = "weekday"
    CONSENT_SCOPE = "consent_scope"
    CONSENT_METHOD = "consent_method"
    RECORDING_CONSENT = "recording_consent"
    CONSENT_SOURCE = "consent_source"
    ZONE_SOURCE = "zone_source"


_LABELS: dict[Kind, dict[str, str]] = {
    Kind.CALL_STATUS: {
        CallStatus.QUEUED: "Waiting to be dialled",
        CallStatus.DIALING: "Dialling",
        CallStatus.RINGING: "Ringing",
        CallStatus.IN_PROGRESS: "On the call",
        CallStatus.COMPLETED: "Completed",
        CallStatus.NO_ANSWER: "No answer",
        CallStatus.BUSY: "Line busy",
        CallStatus.VOICEMAIL: "Reached voicemail",
        CallStatus.FAILED: "Could not be placed",
        CallStatus.CANCELED: "Cancelled",
        CallStatus.UNKNOWN: "Outcome unknown",
    },
    # Ultravox `endReason`.
    Kind.END_REASON: {
        "unjoined": "the phone line never connected to the agent",
        "hangup": "the candidate hung up",
        "agent_hangup": "the agent ended the call",
        "timeout": "the call reached its maximum length",
        "connection_error": "the connection dropped",
        "system_error": "a fault at the voice provider",
    },
    # Twilio `AnsweredBy` (answering-machine detection).
    Kind.ANSWERED_BY: {
        "human": "a person",
        "machine_start": "an answering machine",
        "machine_end_beep": "an answering machine",
        "machine_end_silence": "an answering machine",
        "machine_end_other": "an answering machine",
        "machine": "an answering machine",
        "fax": "a fax machine",
        "unknown": "not sure who",
    },
    Kind.DECISION: {"advance": "Advance", "hold": "On hold", "reject": "Reject"},
    Kind.ROLE: {Role.ADMIN: "Administrator", Role.RECRUITER: "Recruiter", Role.VIEWER: "Viewer"},
    Kind.OPENING: {
        OpeningMode.AGENT_TEXT: "The agent speaks first, with a fixed greeting",
        OpeningMode.AGENT_PROMPT: "The agent speaks first, in its own words",
        OpeningMode.USER_FIRST: "The agent waits for the candidate to say hello",
    },
    Kind.END_BEHAVIOR: {
        EndBehavior.KEEP_WAITING: "keep waiting",
        EndBehavior.HANG_UP_SOFT: "hang up unless the candidate is speaking",
        EndBehavior.HANG_UP_STRICT: "hang up",
    },
    Kind.BATCH_STATUS: {
        BatchStatus.RUNNING: "Calling",
        BatchStatus.PAUSED: "Paused",
        BatchStatus.CANCELED: "Cancelled",
        BatchStatus.DONE: "Finished",
    },
    Kind.JOB_STATUS: {JobStatus.OPEN: "Open", JobStatus.CLOSED: "Closed", JobStatus.ARCHIVED: "Archived"},
    Kind.QUESTION_TYPE: {t: t.label for t in QuestionType},
    Kind.WEEKDAY: {
        Weekday.MON: "Monday", Weekday.TUE: "Tuesday", Weekday.WED: "Wednesday",
        Weekday.THU: "Thursday", Weekday.FRI: "Friday", Weekday.SAT: "Saturday",
        Weekday.SUN: "Sunday",
    },
    Kind.CONSENT_SCOPE: {
        ConsentScope.ALL_PARTY_PLACES: "Only where every party must agree (the places listed above)",
        ConsentScope.EVERYWHERE: "Everywhere",
    },
    Kind.CONSENT_METHOD: {
        ConsentMethod.ASK: "The agent asks on the call, right after the disclosure",
        ConsentMethod.RECORD_NOTHING: "Record nothing (the call is not recorded)",
    },
    # What became of a call's recording under the consent rules (core.compliance.recording_consent).
    Kind.RECORDING_CONSENT: {
        "not_needed": "Recorded: consent to the recording was not needed here",
        "in_advance": "Recorded: the candidate agreed to the recording in advance",
        "granted": "Recorded: the candidate agreed to the recording on the call",
        "refused": "Recording refused by the candidate — not kept",
        "unanswered": "Recording not kept: the candidate never answered the consent question",
        "off": "Recording off: consent not asked",
    },
    # How a candidate's consent was captured (core.people.candidates.consent_basis).
    Kind.CONSENT_SOURCE: {
        "import": "CSV import column", "cli": "command-line import", "manual": "entered by hand",
        "demo": "sandbox demo data", "test": "a team member's own number",
    },
    # Where a call's time zone or place came from (core.calling.hours, core.people.places).
    Kind.ZONE_SOURCE: {
        "candidate": "the candidate record", "number": "the phone number", "unknown": "nowhere (unknown)",
    },
}


def label(kind: Kind, code: object) -> str:
    """The words for one stored code; "—" for none; an unknown code as words, never bare."""
    if code is None or code == "":
        return "—"
    value = code.value if isinstance(code, StrEnum) else str(code)
    known = _LABELS[kind].get(value)
    if known is not None:
        return known
    return value.replace("_", " ").replace("-", " ").strip().capitalize() or "—"


def labels(kind: Kind) -> dict[str, str]:
    """Every known code of a family with its words, e.g. for a filter's choices."""
    return {str(code): words for code, words in _LABELS[kind].items()}


def known_codes() -> frozenset[str]:
    """Every code that has a label (the visible-text checks look for these)."""
    return frozenset(str(code) for family in _LABELS.values() for code in family)


def yes_no(value: bool | None, *, unknown: str = "—") -> str:
    """A flag as "Yes" / "No", and a missing one as a dash (never True/False/None)."""
    if value is None:
        return unknown
    return "Yes" if value else "No"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: "1 call", "3 calls" (never "call(s)")."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


_NOT_WORD = re.compile(r"[^a-z0-9]+")


def file_name(*words: str, day: date | None = None, ext: str) -> str:
    """A download's name from what it holds, never from ids: "forklift-operator-screening-2026-12-02.csv"."""
    plain = unicodedata.normalize("NFKD", " ".join(words)).encode("ascii", "ignore").decode().lower()
    stem = _NOT_WORD.sub("-", plain).strip("-")[:80].strip("-") or "export"
    return f"{stem}-{day.isoformat()}.{ext}" if day else f"{stem}.{ext}"
