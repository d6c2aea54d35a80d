"""A job's candidates as a pipeline: the stage rules, the call that speaks for a candidate, the
knockout tally and the filters (pure functions over typed documents).

Stage precedence (first match wins), and why:
1. do-not-call, 2. asked for a human — standing blocks: whatever else is true, no AI call will
   be placed, and a hiring team must see that before anything the calls say;
3. calling — a call is live right now (its result is about to replace everything below);
4. retry at …, 5. scheduled (…) — a call is waiting in the queue: the candidate is still moving;
6. outcome unknown — the call that speaks for them never settled (the phone may have rung):
   a person must look before it can count as screened or not;
7. advanced, 8. on hold, 9. rejected — a reviewer decided;
10. screened, awaiting review — a completed call nobody has decided on yet;
11. not called — no call yet, or every call ended without a conversation (no answer, busy,
    voicemail, failed, canceled): these are who "launch for everyone not yet called" calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from core import labels, timezones
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.documents.status import CallStatus
from core.review.answer_matching import screening_questions
from core.review.models import QuestionAnswer


class Stage(StrEnum):
    """Where a candidate stands for a job; the declaration order is the precedence."""

    DO_NOT_CALL = "do_not_call"
    ASKED_FOR_HUMAN = "asked_for_human"
    CALLING = "calling"
    RETRY = "retry"
    SCHEDULED = "scheduled"
    UNKNOWN = "unknown"
    ADVANCED = "advanced"
    ON_HOLD = "on_hold"
    REJECTED = "rejected"
    AWAITING_REVIEW = "awaiting_review"
    NOT_CALLED = "not_called"

    @property
    def label(self) -> str:
        """The stage in plain words."""
        return _LABELS[self]


_LABELS = {
    Stage.DO_NOT_CALL: "do-not-call",
    Stage.ASKED_FOR_HUMAN: "asked for a human",
    Stage.CALLING: "calling",
    Stage.RETRY: "retry scheduled",
    Stage.SCHEDULED: "scheduled",
    Stage.UNKNOWN: "outcome unknown",
    Stage.ADVANCED: "advanced",
    Stage.ON_HOLD: "on hold",
    Stage.REJECTED: "rejected",
    Stage.AWAITING_REVIEW: "screened, awaiting review",
    Stage.NOT_CALLED: "not called",
}
# The funnel reads from the start of the process to its ends (not the precedence order).
FUNNEL_ORDER: tuple[Stage, ...] = (
    Stage.NOT_CALLED, Stage.SCHEDULED, Stage.RETRY, Stage.CALLING, Stage.UNKNOWN,
    Stage.AWAITING_REVIEW, Stage.ON_HOLD, Stage.REJECTED, Stage.ADVANCED,
    Stage.ASKED_FOR_HUMAN, Stage.DO_NOT_CALL,
)
_DECIDED = {"advance": Stage.ADVANCED, "hold": Stage.ON_HOLD, "reject": Stage.REJECTED}
_LIVE = frozenset({CallStatus.DIALING, CallStatus.RINGING, CallStatus.IN_PROGRESS})
_EPOCH = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Verdict:
    """A candidate's stage and what it needs in words: a time, an attempt, the deciding call."""

    stage: Stage
    call: Call | None = None  # the call that speaks for the candidate (or the live/queued one)
    at: datetime | None = None  # when the queued call is due
    attempt: int = 0
    of: int = 0
    note: str = ""  # e.g. why a queued call is held, how the last attempt ended


@dataclass(frozen=True)
class Knockouts:
    """How a call's answers did against the questions' knockout rules."""

    passed: int = 0
    failed: int = 0
    total: int = 0  # questions with a knockout rule

    @property
    def all_passed(self) -> bool:
        """Every knockout rule passed (and there was at least one)."""
        return self.total > 0 and self.passed == self.total

    @property
    def some_failed(self) -> bool:
        """At least one answer failed its knockout rule."""
        return self.failed > 0

    @property
    def text(self) -> str:
        """"2 of 3", or "" when the questions had no knockout rule."""
        return f"{self.passed} of {self.total}" if self.total else ""


# -- the call that speaks for a candidate ------------------------------------------------------


def call_rank(call: Call) -> tuple[int, int]:
    """Rank of an ended call as the candidate's voice: reviewed first, then completed."""
    reviewed = 1 if call.decision else 0
    completed = 1 if call.status == CallStatus.COMPLETED else 0
    return reviewed, completed


def speaking_call(calls: Iterable[Call]) -> Call | None:
    """The ended call that speaks for a candidate: the best rank, the newest among equals."""
    ended = sorted((c for c in calls if not c.is_open), key=lambda c: c.created_at or _EPOCH,
                   reverse=True)
    best: Call | None = None
    for call in ended:
        if best is None or call_rank(call) > call_rank(best):
            best = call
    return best


# -- the stage rule ------------------------------------------------------------------------------


def stage_of(candidate: Candidate | None, calls: Sequence[Call], *, job_id: str,
             max_attempts: int) -> Verdict:
    """The candidate's stage for this job from their record and their calls of it."""
    if candidate is not None and candidate.do_not_call:
        return Verdict(Stage.DO_NOT_CALL, speaking_call(calls))
    if candidate is not None and str(job_id) in (candidate.human_requested or {}):
        return Verdict(Stage.ASKED_FOR_HUMAN, speaking_call(calls))
    newest = sorted(calls, key=lambda c: c.created_at or _EPOCH, reverse=True)
    live = next((c for c in newest if c.status in _LIVE), None)
    if live is not None:
        return Verdict(Stage.CALLING, live, attempt=live.attempt, of=max_attempts)
    queued = next((c for c in newest if c.status == CallStatus.QUEUED), None)
    if queued is not None:
        return _queued(queued, {c.id: c for c in calls}, max_attempts)
    best = speaking_call(calls)
    if best is None:
        return Verdict(Stage.NOT_CALLED)
    if best.status == CallStatus.UNKNOWN:
        return Verdict(Stage.UNKNOWN, best)
    if best.decision in _DECIDED:
        return Verdict(_DECIDED[best.decision], best)
    if best.status == CallStatus.COMPLETED:
        return Verdict(Stage.AWAITING_REVIEW, best)
    tried = len([c for c in calls if not c.is_open])
    how = labels.label(labels.Kind.CALL_STATUS, best.status).lower()
    return Verdict(Stage.NOT_CALLED, best, attempt=tried,
                   note=f"not reached: last attempt: {how} ({tried} attempt{'s' if tried != 1 else ''})")


def _queued(call: Call, by_id: dict[str, Call], max_attempts: int) -> Verdict:
    # A retry of the policy is a later attempt than the call it follows; a call-back the
    # candidate asked for, or a call queued again after its window closed, keeps the attempt.
    before = by_id.get(call.retry_of or "")
    is_retry = bool(call.retry_of) and (call.attempt > before.attempt if before else call.attempt > 1)
    note = f"held: {call.hold_reason}" if call.hold_reason else ""
    stage = Stage.RETRY if is_retry else Stage.SCHEDULED
    return Verdict(stage, call, at=call.next_attempt_at, attempt=call.attempt, of=max_attempts,
                   note=note)


# -- in words ------------------------------------------------------------------------------------


def _both(at: datetime | None, user_zone: str, candidate_zone: str | None) -> str:
    return "time not set" if at is None else timezones.readable_for_both(at, user_zone, candidate_zone)


def stage_text(verdict: Verdict, user_zone: str, candidate_zone: str | None) -> str:
    """The stage in words, with the due time in the user's zone and the candidate's beside it."""
    stage = verdict.stage
    if stage == Stage.RETRY:
        text = (f"retry at {_both(verdict.at, user_zone, candidate_zone)}, "
                f"attempt {verdict.attempt} of {max(verdict.of, verdict.attempt)}")
    elif stage == Stage.SCHEDULED:
        text = f"scheduled ({_both(verdict.at, user_zone, candidate_zone)})"
    elif stage == Stage.CALLING:
        text = f"calling (attempt {verdict.attempt})" if verdict.attempt > 1 else "calling"
    else:
        text = stage.label
    return f"{text} — {verdict.note}" if verdict.note else text


def value_words(value: Any, unit: str = "") -> str:
    """A typed answer value in plain words: yes/no, a number with its unit, the choice."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        number = str(int(value)) if float(value).is_integer() else str(value)
        return f"{number} {unit}".strip()
    return str(value)


def knockout_words(passed: bool | None) -> str:
    """A knockout result in plain words ("" when the question has no rule or no value)."""
    return "" if passed is None else ("passed" if passed else "not passed")


# -- knockouts -----------------------------------------------------------------------------------


def knockouts(call: Call, answers: Sequence[QuestionAnswer]) -> Knockouts:
    """Passed, failed and total knockout rules of a call's own questions (an unanswered
    question with a rule counts in the total, neither passed nor failed)."""
    ruled = {q.id for q in screening_questions(call) if q.spec is not None and q.spec.knockout
             and not q.spec.knockout.empty}
    results = [a.knockout_passed for a in answers if a.question_id in ruled]
    return Knockouts(passed=sum(1 for r in results if r is True),
                     failed=sum(1 for r in results if r is False), total=len(ruled))


def ratings_by_question(call: Call) -> dict[str, int]:
    """The review's ratings keyed by the call's question ids (older reviews keyed by position)."""
    review = call.review
    if review is None:
        return {}
    out: dict[str, int] = {}
    for n, q in enumerate(screening_questions(call), start=1):
        rating = review.ratings.get(q.id, review.ratings.get(str(n)))
        if isinstance(rating, int):
            out[q.id] = rating
    return out


# -- the rows and their filters ------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineRow:
    """One candidate of the job in the pipeline (what the table, the funnel and agreement need)."""

    candidate_id: str
    name: str
    phone: str  # as the user may see it ("" for a role that sees no phone numbers)
    stage: Stage
    stage_text: str
    knockouts: Knockouts | None
    summary: str
    reviewer: str
    call_id: str | None
    decision: str | None = None
    ratings: dict[str, int] = field(default_factory=dict)


def stage_counts(rows: Iterable[PipelineRow]) -> dict[Stage, int]:
    """How many candidates are at each stage, in funnel order (every stage, zeros included)."""
    counts = {stage: 0 for stage in FUNNEL_ORDER}
    for row in rows:
        counts[row.stage] += 1
    return counts


def filter_rows(rows: Iterable[PipelineRow], *, stages: Iterable[Stage] = (), search: str = "",
                all_passed: bool = False) -> list[PipelineRow]:
    """Rows at the chosen stages (all if none chosen), whose name holds every searched word, and,
    if asked, whose knockouts all passed."""
    wanted = set(stages)
    words = search.casefold().split()
    out = []
    for row in rows:
        if wanted and row.stage not in wanted:
            continue
        if words and not all(w in row.name.casefold() for w in words):
            continue
        if all_passed and not (row.knockouts and row.knockouts.all_passed):
            continue
        out.append(row)
    return out
