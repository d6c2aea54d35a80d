"""A job's pipeline as the page shows it: one row per candidate with stage, knockouts, summary,
reviewer and the call that speaks for them; and the stages alone, for the job export."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.agent.settings import job_effective_config
from core.auth import Action, User, require
from core.db import Database
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.documents.job import Job
from core.documents.status import CallStatus
from core.people import store as people_store
from core.people.phones import valid_zone, zones_for
from core.people.visibility import phone_for, sees_personal_data
from core.review import pipeline_store
from core.review.answer_matching import screening_questions
from core.review.answers import call_answers
from core.review.detail import readable
from core.review.models import QuestionAnswer
from core.review.pipeline import (
    PipelineRow,
    Stage,
    Verdict,
    knockouts,
    ratings_by_question,
    speaking_call,
    stage_of,
    stage_text,
)
from core.review.timeline import transcript_messages


@dataclass(frozen=True)
class JobPipeline:
    """A job's candidates as pipeline rows, the questions their calls asked (id, text), and
    whether the job has more candidates than one page reads."""

    job: Job
    rows: list[PipelineRow]
    questions: list[tuple[str, str]] = field(default_factory=list)
    truncated: bool = False


@dataclass(frozen=True)
class _Entry:
    candidate: Candidate
    calls: list[Call]
    verdict: Verdict
    speaking: Call | None


def _entries(db: Database, job_id: str) -> tuple[list[_Entry], bool]:
    max_attempts = job_effective_config(db, job_id).retry_policy.max_attempts
    people = pipeline_store.job_candidates(db, job_id, limit=pipeline_store.MAX_CANDIDATES + 1)
    truncated = len(people) > pipeline_store.MAX_CANDIDATES
    people = people[: pipeline_store.MAX_CANDIDATES]
    by_candidate: dict[str, list[Call]] = defaultdict(list)
    for call in pipeline_store.job_calls(db, job_id):
        by_candidate[call.candidate_id].append(call)
    out = []
    for person in people:
        calls = by_candidate.get(person.id, [])
        out.append(_Entry(person, calls, stage_of(person, calls, job_id=job_id,
                                                  max_attempts=max_attempts),
                          speaking_call(calls)))
    return out, truncated


def answers_of(db: Database, calls: Iterable[Call]) -> dict[str, list[QuestionAnswer]]:
    """Each call's typed answers (the agent's, else matched from its transcript), by call id."""
    calls = list(calls)
    completed = [c.id for c in calls if c.status == CallStatus.COMPLETED]
    stored = pipeline_store.transcripts_of(db, completed)
    return {c.id: call_answers(c, transcript_messages(stored.get(c.id))) for c in calls}


def _candidate_zone(person: Candidate, verdict: Verdict, phone: str) -> str | None:
    if person.timezone and valid_zone(person.timezone):
        return person.timezone
    window = verdict.call.calling_window if verdict.call else None
    if window and window.zone and valid_zone(window.zone):
        return window.zone
    zones, _ = zones_for(None, phone or None)
    return zones[0] if len(zones) == 1 else None


def job_pipeline(db: Database, user: User | None, job_id: str, *, zone: str = "UTC") -> JobPipeline | None:
    """The job's candidates as pipeline rows (None for an unknown job); times in `zone`."""
    actor = require(user, Action.VIEW)
    job = people_store.get_job(db, str(job_id))
    if job is None:
        return None
    entries, truncated = _entries(db, job.id)
    answers = answers_of(db, [e.speaking for e in entries if e.speaking is not None])
    questions: dict[str, str] = {}
    full_view = sees_personal_data(actor)
    rows = []
    for e in entries:
        phone = readable(e.candidate.phone, "")
        best = e.speaking
        said = answers.get(best.id, []) if best else []
        if best is not None:
            for q in screening_questions(best):
                questions.setdefault(q.id, q.text)
        link = e.verdict.call or best
        review = best.review if best else None
        rows.append(PipelineRow(
            candidate_id=e.candidate.id,
            name=readable(e.candidate.name, "(name cannot be decrypted)"),
            phone=phone_for(actor, phone) if full_view else "",
            stage=e.verdict.stage,
            stage_text=stage_text(e.verdict, zone, _candidate_zone(e.candidate, e.verdict, phone)),
            knockouts=knockouts(best, said) if best is not None and said else None,
            summary=" ".join(readable(best.short_summary, "(cannot decrypt)").split()) if best else "",
            reviewer=(review.by or "") if review else "",
            call_id=link.id if link else None,
            decision=best.decision if best else None,
            ratings=ratings_by_question(best) if best else {},
        ))
    rows.sort(key=lambda r: (r.name.casefold(), r.candidate_id))
    return JobPipeline(job=job, rows=rows, questions=list(questions.items()), truncated=truncated)


@dataclass(frozen=True)
class StageRow:
    """A candidate's stage for one job without answers or summaries (what Home lists)."""

    candidate_id: str
    name: str
    stage: Stage
    stage_text: str
    call_id: str | None


def job_stages(db: Database, user: User | None, job_id: str, *, zone: str = "UTC") -> list[StageRow]:
    """Each candidate's stage for the job in words (times in `zone`, the candidate's beside) and
    the call to open; cheaper than `job_pipeline` (no transcripts are read)."""
    require(user, Action.VIEW)
    entries, _ = _entries(db, str(job_id))
    return [StageRow(
        candidate_id=e.candidate.id,
        name=readable(e.candidate.name, "(name cannot be decrypted)"),
        stage=e.verdict.stage,
        stage_text=_human_reason(e.candidate, str(job_id)) if e.verdict.stage == Stage.ASKED_FOR_HUMAN
        else stage_text(e.verdict, zone, _candidate_zone(e.candidate, e.verdict,
                                                         readable(e.candidate.phone, ""))),
        call_id=(e.verdict.call or e.speaking).id if (e.verdict.call or e.speaking) else None,
    ) for e in entries]


@dataclass(frozen=True)
class JobStages:
    """One job's candidates per stage, the first one awaiting review (the call to start at) and,
    in words, only the candidates at the `listed` stages."""

    candidates: int
    counts: dict[Stage, int]
    first_awaiting_call: str | None
    listed: list[StageRow]


def jobs_stages(db: Database, user: User | None, job_ids: list[str], listed: Iterable[Stage], *,
                zone: str = "UTC") -> dict[str, JobStages]:
    """`job_stages` for many jobs at once (one read of their candidates, one of their calls per
    few jobs), counting every stage but putting in words (decrypting names, reading clocks)
    only the candidates at the `listed` stages."""
    require(user, Action.VIEW)
    show = set(listed)
    ids = [str(j) for j in job_ids]
    people = pipeline_store.jobs_candidates(db, ids)
    out: dict[str, JobStages] = {}
    for job_id, calls in pipeline_store.jobs_stage_calls(db, ids):
        out[job_id] = _job_stages(db, job_id, people.get(job_id, []), calls, show, zone)
    for job_id in ids:  # jobs without calls
        if job_id not in out:
            out[job_id] = _job_stages(db, job_id, people.get(job_id, []), [], show, zone)
    return out


def _job_stages(db: Database, job_id: str, people: list[Candidate], calls: list[Call], show: set[Stage],
                zone: str) -> JobStages:
    max_attempts = job_effective_config(db, job_id).retry_policy.max_attempts
    by_candidate: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        by_candidate[call.candidate_id].append(call)
    counts: dict[Stage, int] = {}
    first: str | None = None
    rows: list[StageRow] = []
    for person in people:
        theirs = by_candidate.get(person.id, [])
        verdict = stage_of(person, theirs, job_id=job_id, max_attempts=max_attempts)
        counts[verdict.stage] = counts.get(verdict.stage, 0) + 1
        link = verdict.call or speaking_call(theirs)
        if verdict.stage == Stage.AWAITING_REVIEW and first is None and link is not None:
            first = link.id
        if verdict.stage in show:
            rows.append(_stage_row(person, verdict, link, job_id, zone))
    return JobStages(sum(counts.values()), counts, first, rows)


def _stage_row(person: Candidate, verdict: Verdict, link: Call | None, job_id: str, zone: str) -> StageRow:
    text = (_human_reason(person, job_id) if verdict.stage == Stage.ASKED_FOR_HUMAN
            else stage_text(verdict, zone, _candidate_zone(person, verdict, readable(person.phone, ""))))
    return StageRow(candidate_id=person.id, name=readable(person.name, "(name cannot be decrypted)"),
                    stage=verdict.stage, stage_text=text, call_id=link.id if link else None)


def _human_reason(person: Candidate, job_id: str) -> str:
    # What the candidate asked for, in their words as the agent reported them (stored encrypted).
    request = (person.human_requested or {}).get(job_id) or {}
    reason = readable(request.get("reason"), "(the reason cannot be decrypted)")
    return f"asked for a person: {reason}" if reason else "asked for a person"


def stage_words(db: Database, job_id: str) -> dict[str, str]:
    """Each candidate's stage in words (times in UTC), by candidate id, for the job export."""
    entries, _ = _entries(db, str(job_id))
    return {e.candidate.id: stage_text(e.verdict, "UTC", None) for e in entries}


def not_called_ids(db: Database, user: User | None, job_id: str) -> list[str]:
    """The candidates of the job at the "not called" stage (whom a launch for everyone calls)."""
    require(user, Action.VIEW)
    entries, _ = _entries(db, str(job_id))
    return [e.candidate.id for e in entries if e.verdict.stage == Stage.NOT_CALLED]
