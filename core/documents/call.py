"""A call (`calls`): one screening attempt of one candidate for one job.

Several features write parts of it, each through its own store and only its own fields:
calling (the queued call, the claim, the dial), lifecycle (status and what the providers
report), review (the reviewer's decision), usage (costs and the rollup state).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from core.documents.base import Document, Instant, Stored
from core.documents.status import OPEN_STATUSES, CallStatus


class StatusChange(Stored):
    """One step of the call's status history."""

    status: str = ""
    at: Instant = None
    event_id: str | None = None


class CallingWindow(Stored):
    """The calling-hours verdict stored when the call was checked (zone, local time, why)."""

    zone: str | None = None
    zones: list[str] = Field(default_factory=list)
    zone_source: str | None = None  # "candidate" | "number" | "unknown"
    local_time: str | None = None
    local_times: dict[str, str] = Field(default_factory=dict)
    allowed: bool | None = None
    held: bool | None = None
    reason: str | None = None
    next_open_at: Instant = None
    checked_at: Instant = None


class ComplianceRecord(Stored):
    """What applied when the call was dialled (core.compliance), kept so later edits of the
    candidate or the settings never rewrite it. None on a call: dialled before it existed."""

    recorded_at: Instant = None
    zone: str | None = None
    zones: list[str] = Field(default_factory=list)
    zone_source: str | None = None  # "candidate" | "number" | "unknown"
    local_time: str | None = None  # the candidate's clock at dial (ISO, minutes)
    window: str | None = None  # the calling hours in words
    window_verdict: str | None = None
    released_by: str | None = None  # who released the held call
    scheduled_by: str | None = None  # who asked for it to be placed when the window opened
    consent: bool | None = None
    consent_source: str | None = None
    consent_at: Instant = None
    consent_by: str | None = None
    place: str | None = None  # "US-CA", "GB"; None: unknown
    place_source: str | None = None  # "candidate" | "number" | "unknown"
    all_party_consent: bool | None = None  # None: unknown place
    recording: bool | None = None
    attempt: int | None = None
    max_attempts: int | None = None
    spacing_minutes: int | None = None
    retry_after_voicemail: bool | None = None


class DisclosureCheck(Stored):
    """The after-call check, stored with the transcript (which retention may purge later): did
    the agent's first two turns hold every key phrase, and when things happened (seconds)."""

    phrases: list[str] = Field(default_factory=list)
    found: bool | None = None
    missing: list[str] = Field(default_factory=list)
    at_seconds: float | None = None  # start of the turn that completed the disclosure
    moments: dict[str, float] = Field(default_factory=dict)  # "opt_out", "human", "callback", "voicemail"
    checked_at: Instant = None


class Review(Stored):
    """A reviewer's decision, ratings (per question and overall, 1–5) and notes."""

    decision: str | None = None
    ratings: dict[str, int] = Field(default_factory=dict)
    overall: int | None = None
    notes: str = ""
    by: str | None = None
    at: Instant = None
    # Raised by one on each save; a save names the version it replaces, so two reviewers
    # never overwrite each other unseen. None: saved before versions (counts as version 1).
    version: int | None = None


class CallCosts(Stored):
    """What the call cost, as core.usage.costs computed it (Decimal strings and micros)."""

    currency: str = ""
    ai: str | None = None
    telephony: str | None = None
    total: str | None = None
    ai_micros: int = 0
    telephony_micros: int = 0
    total_micros: int = 0
    ai_estimated: bool = False
    telephony_estimated: bool = False
    telephony_country: str | None = None
    telephony_foreign: dict[str, Any] | None = None


class RollupState(Stored):
    """The counters this call last added to the usage rollups, and the sync gate."""

    applied: dict[str, int] = Field(default_factory=dict)
    seq: int | None = None
    synced_at: Instant = None
    day: str | None = None
    inc_pending: bool = False


class CallBudget(Stored):
    """What the call holds of its month's budget (core.usage.budget).

    `micros` is the most the call can cost, reserved before the claim; `counted` is what the
    month document counts for it now (the reservation while it is open or its outcome is
    unknown, its cost once it ended); it only changes by a compare-and-set, so each change
    reaches the month document once.
    """

    month: str = ""
    job_id: str = ""
    micros: int = 0
    counted: int | None = None

    @property
    def counted_micros(self) -> int:
        """What the month document counts for this call."""
        return self.micros if self.counted is None else self.counted


class AgentAnswer(Stored):
    """An answer the agent recorded with its recordAnswer tool; `earlier`: corrected ones."""

    number: int = 0
    answer: str = ""
    value: Any = None
    at: Instant = None  # when the tool request arrived
    seq: int = 0  # bumped by each correction (the compare-and-set of the next one)
    earlier: list[dict[str, Any]] = Field(default_factory=list)


class RecordingConsent(Stored):
    """What was decided about recording consent when the call was placed, and what followed.

    `mode`: "not_needed" | "in_advance" | "ask" (the agent asks; recordingConsent tool) | "off"
    (created with recording off); `asked`/`granted`/`at`: the tool's report; `deleted_at`: the
    Ultravox call (and its recording) deleted after the end; `transcript_kept`: False when the
    transcript was not stored because the recording was refused.
    """

    needed: bool = False
    mode: str = "not_needed"
    place: str | None = None
    place_source: str | None = None
    why: str = ""
    asked: bool = False
    granted: bool | None = None
    at: Instant = None
    decided_at: Instant = None
    deleted_at: Instant = None
    delete_attempts: int = 0
    delete_note: str | None = None
    transcript_allowed: bool = True  # the setting "transcript without recording", at dial
    transcript_kept: bool | None = None

    @property
    def keeps_recording(self) -> bool:
        """True when the recording may be fetched and kept."""
        if self.mode == "off":
            return False
        return self.mode != "ask" or self.granted is True

    @property
    def outcome(self) -> str:
        """The code the call page shows in words (core.labels Kind.RECORDING_CONSENT)."""
        if self.mode == "ask":
            return {True: "granted", False: "refused"}.get(self.granted, "unanswered")  # type: ignore[arg-type]
        return self.mode


class Call(Document):
    """One call as stored."""

    # Who, for what, in which batch and attempt.
    candidate_id: str = ""
    job_id: str = ""
    batch_id: str | None = None
    attempt: int = 1
    first_call_id: str | None = None
    retry_of: str | None = None
    # A single call someone asked to place when the calling window opens (their username).
    scheduled_by: str | None = None
    released_by: str | None = None  # who released it when it was held for a person
    # A follow-up attempt the worker queued: why it waits ("retry" | "callback" | "window"), the
    # retry policy's attempts when it was queued, and the candidate's zone at the last attempt.
    wait_kind: str | None = None
    max_attempts: int | None = None
    candidate_zone: str | None = None
    retry_handled: bool | None = None
    retry_call_id: str | None = None
    test_call: bool = False
    created_by: str | None = None
    created_at: Instant = None
    updated_at: Instant = None
    # Status and its history; `open_key` is set while the call is open (one per pair).
    status: CallStatus = CallStatus.QUEUED
    status_history: list[StatusChange] = Field(default_factory=list)
    open_key: str | None = None
    # Waiting in the queue.
    next_attempt_at: Instant = None
    lease_owner: str | None = None
    lease_until: Instant = None
    hold_reason: str | None = None
    wait_reason: str | None = None
    calling_window: CallingWindow | None = None
    # Dialling.
    claimed_by: str | None = None
    rate_slot_at: float | None = None
    twilio_requested_at: float | None = None
    config_snapshot: dict[str, Any] = Field(default_factory=dict)
    rendered_prompt: str | None = None
    request_body: dict[str, Any] | None = None
    destination_country: str | None = None
    ultravox_call_id: str | None = None
    twilio_call_sid: str | None = None
    ultravox_end: str | None = None
    # The Twilio create: when the request left (database clock), and, when its answer was lost
    # (a timeout, a 5xx), why the call is unconfirmed until a callback or a lookup settles it.
    twilio_sent_at: Instant = None
    twilio_unconfirmed: str | None = None
    twilio_unconfirmed_at: Instant = None
    settle_checked_at: Instant = None
    settle_note: str | None = None
    requeue_at: Instant = None  # a batch call not dialled after all: queue it again then
    budget: CallBudget | None = None
    # What the providers reported.
    dialed_at: Instant = None
    ringing_at: Instant = None
    answered_at: Instant = None
    joined_at: Instant = None
    ended_at: Instant = None
    ultravox_ended: bool = False
    ultravox_ended_at: Instant = None
    twilio_status: str | None = None
    answered_by: str | None = None
    duration_seconds: int | None = None
    end_reason: str | None = None
    failure_reason: str | None = None  # plain words, phone numbers hidden (core.calling.reasons)
    provider_error_code: int | None = None  # Twilio's error code when it refused or failed the call
    summary: str | None = None
    short_summary: str | None = None
    # "pending" | "stored" | "unavailable" | "purged" | "not_kept" (recording refused, core.compliance)
    transcript_status: str | None = None
    message_count: int | None = None
    billing_status: str | None = None
    billing_status_note: str | None = None
    billed_duration_seconds: float | None = None
    billed_at: Instant = None
    telephony_price: str | None = None
    price_unit: str | None = None
    price_status: str | None = None
    priced_at: Instant = None
    recording_available: bool | None = None
    recording_consent: RecordingConsent | None = None  # None: placed before consent was decided
    opt_out: bool = False
    # What the agent recorded through its tools (core.screening), keyed by question id.
    agent_answers: dict[str, AgentAnswer] = Field(default_factory=dict)
    human_requested: dict[str, Any] | None = None  # {"reason", "at"}
    callback: dict[str, Any] | None = None  # {"when_local", "zone", "at", "flagged", "note"}
    voicemail_left: bool | None = None
    voicemail_text: str | None = None
    # Follow-up of what webhooks did not bring.
    needs_followup: bool = False
    followup_next_at: Instant = None
    followup_lease_until: Instant = None
    followup_lease_seq: int | None = None  # moved by every lease: its compare-and-set
    followup_seq: int | None = None
    followup_attempts: int = 0
    followup_done_at: Instant = None
    last_polled_at: Instant = None
    twilio_hangup_at: Instant = None
    ultravox_hangup_at: Instant = None
    purged_at: Instant = None
    erased_at: Instant = None  # the candidate was erased (core.privacy.erasure)
    # Retention by job stage (core.review.retention): what went when the job had been closed or
    # archived long enough — {"at", "stage", "stage_at"} (the stage and when the job entered it).
    recording_purge: dict[str, Any] | None = None
    transcript_purge: dict[str, Any] | None = None
    # Compliance (core.compliance): the record at dial, the disclosure check after the call.
    compliance: ComplianceRecord | None = None
    disclosure: DisclosureCheck | None = None
    # Review and money.
    review: Review | None = None
    costs: CallCosts | None = None
    rollup: RollupState | None = None

    @property
    def is_open(self) -> bool:
        """True while the call is queued or live."""
        return self.status in OPEN_STATUSES

    def waiting_at(self, now: datetime) -> bool:
        """Queued for a later time (a retry, a call-back, the calling window): not in progress."""
        return (self.status == CallStatus.QUEUED and self.next_attempt_at is not None
                and self.next_attempt_at > now)

    @property
    def started_at(self) -> Instant:
        """When the call was dialled (else created)."""
        return self.dialed_at or self.created_at

    @property
    def decision(self) -> str | None:
        """The reviewer's decision, if any."""
        return self.review.decision if self.review else None

    @property
    def snapshot_config(self) -> dict[str, Any]:
        """The effective voice settings the call was placed with (empty before the dial)."""
        return self.config_snapshot.get("config") or {}
