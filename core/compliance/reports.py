"""The compliance record beyond one call: the per-job compliance CSV and Home's count of calls
whose disclosure was not found."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core import audit, crypto, labels, timezones
from core.auth import Action, User, require
from core.compliance import recording_consent, store
from core.compliance.view import FIELDS, ComplianceSource, compliance_view
from core.db import Database, utcnow
from core.documents.call import Call
from core.errors import UserError
from core.people import store as people_store
from core.people.visibility import phone_for, sees_personal_data

_CSV_CALL_LIMIT = 50_000  # calls of one job in one compliance CSV (the job CSV's cap)
_BATCH = 1000
FLAG_DAYS = 30  # Home counts the calls of the last 30 days whose disclosure was not found
FLAG_LIST = 10  # and names the newest of them
_FLAG_COUNT_CAP = 1000  # counted up to this many ("1000 or more")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ComplianceError(UserError, ValueError):
    """A compliance report that cannot be made; the message says why."""


def _cell(value: str) -> str:
    # Text from a record may start like a spreadsheet formula: never let it run as one.
    return "'" + value if value.startswith(_FORMULA_START) else value


def _name(value: str | None) -> str:
    try:
        return crypto.decrypt(value) or "(deleted candidate)"
    except crypto.CryptoError:
        return "(name cannot be decrypted)"


def _who(db: Database, calls: list[Call]) -> dict[str, tuple[str, str]]:
    """(candidate's name, job title) of each call, by call id: two reads for all of them."""
    people = {p.id: p for p in people_store.candidate_contacts(
        db, sorted({c.candidate_id for c in calls}), _BATCH)}
    jobs = people_store.jobs_by_id(db, {c.job_id for c in calls})
    return {c.id: (_name(people[c.candidate_id].name if c.candidate_id in people else None),
                   jobs[c.job_id].title if c.job_id in jobs else "(deleted job)") for c in calls}


def compliance_csv(db: Database, user: User | None, job_id: str, *, zone: str = timezones.UTC_NAME) -> bytes:
    """CSV (UTF-8 with BOM) of a job's compliance records, one row per dialled call, oldest first;
    columns and values in words, times in `zone`; the phone only for roles that see it."""
    actor = require(user, Action.VIEW)
    job = people_store.job_summary(db, str(job_id))
    if job is None:
        raise ComplianceError("That job does not exist.")
    with_phone = sees_personal_data(actor)
    calls = list(store.job_calls(db, job.id, limit=_CSV_CALL_LIMIT, batch=_BATCH))
    people = {p.id: p for p in people_store.candidate_contacts(
        db, sorted({c.candidate_id for c in calls}), _BATCH)}
    header = ["Candidate", *(["Phone"] if with_phone else []), f"Started ({zone})", *FIELDS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for call in calls:
        person = people.get(call.candidate_id)
        view = compliance_view(ComplianceSource.of(call), zone)
        row = [_cell(_name(person.name if person else None))]
        if with_phone:
            row.append(phone_for(actor, crypto.decrypt(person.phone) if person else ""))
        row += [timezones.readable(call.started_at, zone), *(_cell(v) for _, v in view.facts)]
        writer.writerow(row)
    audit.record(db, actor=actor.username, action="job.export_compliance_csv", entity="job",
                 entity_id=job.id,
                 detail=f"{labels.counted(len(calls), 'call')}, {'with' if with_phone else 'without'} phone")
    return buffer.getvalue().encode("utf-8-sig")


@dataclass(frozen=True)
class FlaggedCall:
    """A call whose disclosure was not found, as Home names it."""

    call_id: str
    candidate: str
    job: str
    started: str
    missing: str


@dataclass(frozen=True)
class DisclosureFlags:
    """How many calls of the last FLAG_DAYS days lacked the disclosure (`more`: the count hit its
    cap), and the newest FLAG_LIST of them."""

    count: int
    more: bool
    calls: list[FlaggedCall] = field(default_factory=list)


def disclosure_flags(db: Database, user: User | None, *, zone: str,
                     now: datetime | None = None) -> DisclosureFlags:
    """Home's count of calls whose agent did not say every disclosure phrase, and the newest."""
    require(user, Action.VIEW)
    since = (now or utcnow()) - timedelta(days=FLAG_DAYS)
    count, newest = store.disclosure_missing(db, since, count_cap=_FLAG_COUNT_CAP, limit=FLAG_LIST)
    who = _who(db, newest)
    calls = [FlaggedCall(
        call_id=c.id, candidate=who[c.id][0], job=who[c.id][1],
        started=timezones.readable(c.started_at, zone),
        missing=", ".join(c.disclosure.missing) if c.disclosure else "") for c in newest]
    return DisclosureFlags(count=count, more=count >= _FLAG_COUNT_CAP, calls=calls)


@dataclass(frozen=True)
class StuckDeletion:
    """A refused recording still at Ultravox, as Home names it."""

    call_id: str
    candidate: str
    job: str
    ended: str
    tries: int
    problem: str


@dataclass(frozen=True)
class StuckDeletions:
    """How many refused recordings Ultravox has not deleted after several tries (`more`: the
    count hit its cap), and the FLAG_LIST that have waited longest."""

    count: int
    more: bool
    calls: list[StuckDeletion] = field(default_factory=list)


def stuck_recording_deletions(db: Database, user: User | None, *, zone: str) -> StuckDeletions:
    """Home's alert: candidates refused the recording, yet it is still stored at Ultravox because
    its deletion keeps failing (the follow-up goes on retrying)."""
    require(user, Action.VIEW)
    count, oldest = store.failing_deletions(db, recording_consent.ALERT_AFTER_TRIES,
                                            count_cap=_FLAG_COUNT_CAP, limit=FLAG_LIST)
    who = _who(db, oldest)
    calls = [StuckDeletion(
        call_id=c.id, candidate=who[c.id][0], job=who[c.id][1],
        ended=timezones.readable(c.ended_at or c.created_at, zone),
        tries=c.recording_consent.delete_attempts if c.recording_consent else 0,
        problem=(c.recording_consent.delete_note if c.recording_consent else None) or "no answer")
        for c in oldest]
    return StuckDeletions(count=count, more=count >= _FLAG_COUNT_CAP, calls=calls)
