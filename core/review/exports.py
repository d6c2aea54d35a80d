"""Exports: a job's screened candidates as CSV, one call's transcript as text."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from core import audit, labels, timezones
from core.auth import Action, User, can, require
from core.calling.outcome import outcome_text
from core.db import Database
from core.documents.call import Call, Review
from core.documents.candidate import Candidate
from core.documents.status import OPEN_STATUSES, CallStatus
from core.people import store as people_store
from core.people.visibility import phone_for, sees_personal_data
from core.review import store
from core.review.answer_matching import screening_questions
from core.review.detail import call_detail, readable
from core.review.filters import ReviewError, call_cost, currency_of
from core.review.job_pipeline import answers_of, stage_words
from core.review.models import CallDetail, QuestionAnswer
from core.review.pipeline import call_rank, knockout_words, knockouts, value_words

_EXPORT_CALL_LIMIT = 50_000  # calls of one job read for an export
_EXPORT_BATCH = 1000


# -- exports --------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (text from a call is untrusted)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _when(value: datetime | None, zone: str) -> str:
    return timezones.readable(value, zone) if value else ""


def csv_scope(user: User | None) -> str:
    """What the job CSV holds for this user's role, in one sentence."""
    if sees_personal_data(user):
        return "Includes phone numbers and notes."
    return "Phone numbers and review notes are left out for your role."


def export_job_csv(db: Database, user: User | None, job_id: str, *, zone: str = timezones.UTC_NAME) -> bytes:
    """CSV (UTF-8 with BOM) of a job's screened candidates, one row each, columns by role: words
    and times in `zone` (the reader's), no ids or stored codes — a sheet is read by people."""
    actor = require(user, Action.VIEW)
    # Phone numbers follow the one visibility rule; review notes, the reviewers' own words,
    # go to those who may review (today the same roles).
    reviewer = sees_personal_data(actor) and can(actor, Action.REVIEW_CALLS)
    job = people_store.job_summary(db, str(job_id))
    if job is None:
        raise ReviewError("That job does not exist.")
    ended = [s.value for s in CallStatus if s not in OPEN_STATUSES]
    best: dict[str, Call] = {}
    attempts: dict[str, int] = {}
    questions = 0
    for call in store.export_calls(db, job.id, ended, limit=_EXPORT_CALL_LIMIT, batch=_EXPORT_BATCH):
        cid = call.candidate_id
        attempts[cid] = attempts.get(cid, 0) + 1
        questions = max(questions, len(screening_questions(call)))
        # Newest first, so a later call only wins with a strictly better rank (the pipeline's
        # rule of the call that speaks for a candidate).
        if cid not in best or call_rank(call) > call_rank(best[cid]):
            best[cid] = call
    people: dict[str, Candidate] = {
        p.id: p for p in people_store.candidate_contacts(db, sorted(best), _EXPORT_BATCH)
    }
    names = {cid: readable(p.name, "(name cannot be decrypted)") for cid, p in people.items()}
    stages = stage_words(db, job.id)
    answers = answers_of(db, best.values())
    header = ["Candidate"]
    if reviewer:
        header.append("Phone")
    header += ["Job", "Started", "Outcome", "Attempts", "Duration (seconds)", "Decision", "Overall rating",
               "Pipeline stage", "Knockouts passed"]
    for n in range(1, questions + 1):
        header += [f"Q{n} answer", f"Q{n} value", f"Q{n} knockout", f"Q{n} rating"]
    header += ["Reviewed by", "Reviewed at"]
    if reviewer:
        header.append("Review notes")
    header += ["Short summary", "Summary", "Cost", "Currency", "Cost is an estimate"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    rows = sorted(best.items(), key=lambda kv: (names.get(kv[0], "").casefold(), kv[0]))
    for cid, call in rows:
        person = people.get(cid)
        phone = phone_for(actor, readable(person.phone, "(cannot decrypt)")) if person else ""
        writer.writerow(_csv_row(call, names.get(cid), phone, job.title, attempts.get(cid, 1), questions,
                                 reviewer, stages.get(cid, ""), answers.get(call.id, []), zone))
    audit.record(
        db,
        actor=actor.username,
        action="job.export_csv",
        entity="job",
        entity_id=job.id,
        detail=f"{labels.counted(len(rows), 'candidate')}, "
               f"{'with' if reviewer else 'without'} phone and notes",
    )
    return buffer.getvalue().encode("utf-8-sig")


def _csv_row(
    call: Call,
    name: str | None,
    phone: str,
    job_title: str,
    attempts: int,
    questions: int,
    reviewer: bool,
    stage: str,
    answers: list[QuestionAnswer],
    zone: str,
) -> list[Any]:
    """One candidate's CSV row, cells escaped (the phone, validated E.164, is written as is)."""
    review = call.review or Review()
    amount, estimated = call_cost(call)
    row: list[Any] = [name if name is not None else "(deleted candidate)"]
    phone_col = len(row) if reviewer else -1
    if reviewer:
        row.append(phone)
    row += [
        job_title,
        _when(call.started_at, zone),
        outcome_text(call),
        attempts,
        call.duration_seconds,  # None is an empty cell
        labels.label(labels.Kind.DECISION, review.decision) if review.decision else "",
        review.overall or "",
        stage,
        knockouts(call, answers).text if answers else "",
    ]
    # Per question of the call's own snapshot: the answer, its typed value, the knockout result
    # and the rating (keyed by question id; by position in reviews older than ids).
    asked = screening_questions(call)
    for n in range(1, questions + 1):
        q = asked[n - 1] if n <= len(asked) else None
        a = answers[n - 1] if n <= len(answers) else None
        unit = q.spec.unit if q is not None and q.spec is not None else ""
        row += [
            (a.answer or "") if a is not None and a.asked else "",
            value_words(a.value, unit) if a is not None else "",
            knockout_words(a.knockout_passed) if a is not None else "",
            review.ratings.get(q.id if q else "", review.ratings.get(str(n), "")),
        ]
    row += [review.by or "", _when(review.at, zone)]
    if reviewer:
        row.append(review.notes or "")
    row += [
        readable(call.short_summary, "(cannot decrypt)"),
        readable(call.summary, "(cannot decrypt)"),
        "" if amount is None else str(amount),
        currency_of(call),
        "yes" if estimated else ("no" if amount is not None else ""),
    ]
    return [v if i == phone_col else csv_cell(v) for i, v in enumerate(row)]


def _clock(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "--:--"
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def transcript_text(db: Database, user: User | None, call_id: str) -> str:
    """One call's transcript as plain text (speaker, time into the call, words); no phone number."""
    require(user, Action.VIEW)
    detail = call_detail(db, call_id, user)
    if detail is None:
        raise ReviewError("That call does not exist.")
    return detail_text(detail)


def detail_text(detail: CallDetail) -> str:
    """The transcript text of a call already read (the call page has it: no second read)."""
    started = detail.started_at
    lines = [
        f"Call {detail.id}",
        f"Candidate: {detail.candidate.name}",
        f"Job: {detail.job.title}",
        f"Started (UTC): {started.isoformat(timespec='seconds') if started else 'not started'}",
        f"Outcome: {detail.outcome}",
        "",
    ]
    spoken = [m for m in detail.transcript if m.speaker in ("agent", "candidate")]
    if not spoken:
        lines.append("(no transcript)")
    for m in spoken:
        lines.append(f"[{_clock(m.start_s)}] {m.speaker.capitalize()}: {m.text}")
    return "\n".join(lines) + "\n"
