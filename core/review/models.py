"""Typed read models of the review pages: the calls list, one call's detail, the candidate page.

They are what the services hand to pages and components (attributes, never raw documents),
already redacted for the user's role: a viewer's `CallDetail` carries a masked phone number
and no review notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from core.compliance.view import ComplianceSource
from core.documents.base import Document, Instant, Stored
from core.documents.call import CallCosts
from core.people.models import CandidateProfile

if TYPE_CHECKING:
    from core.agent.questions import ScreeningQuestion

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a longer result: its rows and how many rows match in all."""

    data: list[T]
    count: int


# -- the calls list ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallRow:
    """One row of the calls list."""

    id: str
    candidate_id: str
    candidate: str  # the candidate's name, or "(deleted candidate)"
    job_id: str
    job: str  # the job's title, or "(deleted job)"
    status: str
    outcome: str
    started_at: datetime | None
    duration_seconds: int | None
    cost: Decimal | None
    cost_estimated: bool
    currency: str
    decision: str | None
    in_flight: bool


@dataclass(frozen=True)
class CallList:
    """The calls list as the page shows it: the rows, the page number and the page count."""

    rows: Page[CallRow]
    page: int  # may be lower than asked for when the filters shrank the result
    pages: int

    @property
    def live(self) -> bool:
        """True when a call on this page is still in flight (the page refreshes itself)."""
        return any(row.in_flight for row in self.rows.data)


# -- one call ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """A screening question of the call's own snapshot (the wording the candidate heard)."""

    text: str
    guidance: str = ""
    id: str = ""
    type: str = "open"
    reviewer_guidance: str = ""
    spec: ScreeningQuestion | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Message:
    """One transcript turn: who spoke ("agent", "candidate" or "tool"), when, and the words."""

    speaker: str
    text: str
    start_s: float | None = None
    end_s: float | None = None
    tool: str | None = None  # a tool call or result: the tool's name


@dataclass(frozen=True)
class EarlierAnswer:
    """An answer the candidate later corrected, as the agent recorded it."""

    answer: str
    value: Any = None
    at_seconds: float | None = None


@dataclass(frozen=True)
class QuestionAnswer:
    """One screening question with the candidate's answer, if the agent asked it."""

    number: int
    question: str
    guidance: str
    asked: bool = False
    asked_at_s: float | None = None
    asked_as: str | None = None  # the agent's turn that asked it (excerpt)
    answer: str | None = None  # None: not asked; "": asked, no reply
    question_id: str = ""
    type: str = "open"
    reviewer_guidance: str = ""
    value: Any = None  # the typed value (yes/no → bool, number → float, choice → the option)
    source: str | None = None  # "agent" (its recordAnswer tool) | "transcript" | None
    at_seconds: float | None = None  # when the candidate gave the answer
    knockout_passed: bool | None = None
    earlier: tuple[str, ...] = ()  # answers the candidate corrected, oldest first
    history: tuple[EarlierAnswer, ...] = ()  # the same, with their values and times

    @property
    def source_label(self) -> str:
        """Where the answer comes from, as the review page says it."""
        if self.source == "agent":
            return "recorded by the agent"
        if self.source == "transcript":
            return "matched from the transcript — check"
        return ""


@dataclass(frozen=True)
class EventEntry:
    """One provider event of the call, as the event log shows it."""

    step: str
    at: datetime | None
    received_at: datetime | None
    detail: str
    source: str


@dataclass(frozen=True)
class TimelineEntry:
    """One step of the call's life (queued … priced) and when it happened."""

    step: str
    at: datetime | None
    detail: str


@dataclass(frozen=True)
class Fact:
    """A label and its value, for the small settings tables of the call page."""

    label: str
    value: str


@dataclass(frozen=True)
class ReviewView:
    """The saved review as the user may see it (`notes` is None for a viewer)."""

    decision: str | None
    ratings: dict[str, int]
    overall: int | None
    notes: str | None
    by: str | None
    at: datetime | None
    version: int = 1  # what a save must expect to replace this review (see decisions.save_review)

    def rating(self, number: int, question_id: str = "") -> int | None:
        """The rating given to a screening question: by its id, else (a review saved before
        questions had ids) by its position `number`; None: not rated."""
        if question_id and question_id in self.ratings:
            return self.ratings[question_id]
        return self.ratings.get(str(number))


@dataclass(frozen=True)
class CallParty:
    """The candidate of a call (phone masked for a viewer)."""

    id: str
    name: str
    phone: str
    timezone: str
    do_not_call: bool


@dataclass(frozen=True)
class JobRef:
    """The job a call screened for."""

    id: str
    title: str
    company: str


@dataclass(frozen=True)
class ConfigMeta:
    """Where the call's settings came from (config versions, fields the job overrode)."""

    taken_at: datetime | None = None
    global_version: int | None = None
    job_version: int | None = None
    overridden_fields: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CallDetail:
    """Everything the call page shows, redacted for the user's role."""

    id: str
    status: str
    in_flight: bool
    outcome: str
    started_at: datetime | None
    duration_seconds: int | None
    opt_out: bool  # the candidate asked on this call never to be called again
    candidate: CallParty
    job: JobRef
    cost: Decimal | None
    cost_estimated: bool
    currency: str
    costs: CallCosts | None
    timeline: list[TimelineEntry]
    events: list[EventEntry]
    transcript: list[Message]
    transcript_status: str
    summary: str
    short_summary: str
    settings: list[Fact]  # the voice settings the call was placed with
    config_meta: ConfigMeta
    screening_questions: list[str]  # as configured (before placeholders were filled)
    rendered_prompt: str
    calling_window: list[Fact]  # the calling-hours verdict at dial time (empty: not recorded)
    questions: list[QuestionAnswer]
    review: ReviewView | None
    can_review: bool
    recording_enabled: bool | None
    knockout_rules: dict[str, bool] = field(default_factory=dict)  # question id → has a knockout rule
    candidate_zone: str = ""  # the zone the calling hours used for this call ("" not recorded)
    technical: list[Fact] = field(default_factory=list)  # ids for operators: admins only, else empty
    transcript_note: str = ""  # why the transcript is gone when the job's retention deleted it
    compliance: ComplianceSource | None = None  # the compliance record (core.compliance.view)

    @property
    def review_version(self) -> int:
        """The version of the saved review (0: none yet), which a save must expect."""
        return self.review.version if self.review else 0


# -- the candidate page ------------------------------------------------------------------------


@dataclass(frozen=True)
class DoNotCall:
    """Whether the candidate is on the do-not-call list, since when, why, and from which call."""

    active: bool
    at: datetime | None
    reason: str | None
    call_id: str | None


@dataclass(frozen=True)
class OptOutRequest:
    """Where a candidate asked not to be called again: the call, when, for which job, and their
    words (None once the transcript is purged) — what an admin confirms before lifting it."""

    call_id: str
    at: datetime | None
    job: str
    words: str | None


@dataclass(frozen=True)
class HumanRequest:
    """The candidate asked on a call for a person (no AI call for that job until lifted)."""

    job_id: str
    job: str
    reason: str
    call_id: str | None
    at: datetime | None


@dataclass(frozen=True)
class CandidateJob:
    """A job the candidate applied to ("missing" status: the job was deleted)."""

    id: str
    title: str
    status: str


@dataclass(frozen=True)
class CandidateCall:
    """One call of the candidate, newest first on the page."""

    id: str
    job_id: str
    job: str
    attempt: int
    status: str
    outcome: str
    created_at: datetime | None
    ended_at: datetime | None
    decision: str | None
    batch_id: str | None


@dataclass(frozen=True)
class CandidateView:
    """The candidate page: profile, do-not-call state, jobs and every call."""

    candidate: CandidateProfile
    zone: str  # the time zone calls use, in words
    do_not_call: DoNotCall
    jobs: list[CandidateJob]
    calls: list[CandidateCall]


# -- the home page -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    """Headline numbers of the home page."""

    jobs: int  # not archived
    candidates: int
    calls_open: int
    calls_done: int


# -- the recording ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingFetch:
    """A call's audio (bytes and content type), or why there is none."""

    content: bytes | None
    content_type: str | None
    message: str = ""
    cached: bool = False

    @property
    def available(self) -> bool:
        """True when there is audio to play."""
        return self.content is not None


# -- stored documents only review reads ------------------------------------------------------


class StoredMessage(Stored):
    """One message of a stored transcript (`call_transcripts`), as core.lifecycle writes it."""

    role: str | None = None
    text: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    tool: str | None = None


class StoredTranscript(Document):
    """A call's stored transcript document (`_id` = the call id)."""

    messages: list[StoredMessage] | None = None


class CachedRecording(Document):
    """The head entry of a cached recording in `media_cache` (its chunks are separate)."""

    none: bool = False  # the provider had no recording (cached briefly)
    message: str | None = None
    content_type: str | None = None
    chunks: int | None = None
    expires_at: Instant = None
