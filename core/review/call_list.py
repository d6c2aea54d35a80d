"""The calls list: one page of calls, sorted and filtered in the database."""

from __future__ import annotations

from datetime import datetime

from core import crypto
from core.auth import User
from core.calling.outcome import outcome_text
from core.db import Database, utcnow
from core.documents.call import Call
from core.people import store as people_store
from core.people.visibility import sees_personal_data
from core.review import store
from core.review.detail import readable
from core.review.filters import (
    DEFAULT_SORT,
    MAX_NAME_MATCHES,
    MAX_PAGE_SIZE,
    MAX_PHONE_MATCHES,
    SORT_LABELS,
    CallFilters,
    ReviewError,
    call_cost,
    check_filters,
    currency_of,
    phone_search,
)
from core.review.models import CallList, CallRow, Page

MAX_SEARCH_ROWS = 2000  # a search matching more calls is counted and paged the plain way


def _row(call: Call, candidates: dict[str, str], jobs: dict[str, str], now: datetime) -> CallRow:
    amount, estimated = call_cost(call)
    waiting = call.waiting_at(now)  # a retry or call-back for later: neither started nor live
    return CallRow(
        id=call.id,
        candidate_id=call.candidate_id,
        candidate=candidates.get(call.candidate_id, "(deleted candidate)"),
        job_id=call.job_id,
        job=jobs.get(call.job_id, "(deleted job)"),
        status=call.status.value,
        outcome=outcome_text(call),
        started_at=None if waiting else call.started_at,
        duration_seconds=call.duration_seconds,
        cost=amount,
        cost_estimated=estimated,
        currency=currency_of(call),
        decision=call.decision,
        in_flight=call.is_open and not waiting,
    )


def _candidate_ids(db: Database, text: str, user: User | None) -> list[str]:
    """Candidate ids matching a phone number (by its hashes) or the words of a name (each a
    prefix of 3+ letters of a word of the name)."""
    text = " ".join(text.split())
    e164 = phone_search(text)
    if e164 is not None:
        # A number search tells whose number it is: only for roles that see numbers.
        if not sees_personal_data(user):
            raise ReviewError("Your role cannot search by phone number; search by name.")
        return people_store.candidate_ids_by_phone_hash(db, crypto.phone_hashes(e164), MAX_PHONE_MATCHES)
    ids = people_store.candidate_ids_by_name_tokens(
        db, crypto.name_query_tokens(text), text.lower().split(), MAX_NAME_MATCHES + 1)
    if len(ids) > MAX_NAME_MATCHES:
        raise ReviewError(
            f"More than {MAX_NAME_MATCHES:,} candidates' names start with “{text}”; type more of the name."
        )
    return ids


def list_calls(
    db: Database,
    filters: CallFilters,
    sort: str = DEFAULT_SORT,
    page: int = 1,
    page_size: int = 25,
    *,
    user: User | None = None,
) -> Page[CallRow]:
    """One page of calls matching the filters, sorted in the database, and the match count."""
    if sort not in SORT_LABELS:
        raise ReviewError(f"Unknown sort: {sort}.")
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    page = max(1, int(page))
    check_filters(filters)
    candidate_ids = None
    if filters.candidate.strip():
        candidate_ids = _candidate_ids(db, filters.candidate, user)
        if not candidate_ids:
            return Page(data=[], count=0)  # nobody by that name or number: no call can match
    skip = (page - 1) * page_size
    few = None
    if candidate_ids is not None:
        # A name or number search matches few calls: one read of their ids is the count and
        # the order, and the page is read by id (two reads, where count + find scan twice).
        few = store.few_matching_ids(db, filters, candidate_ids, sort=sort, cap=MAX_SEARCH_ROWS)
    if few is not None:
        total = len(few)
        calls = store.calls_by_ids(db, few[skip : skip + page_size])
    else:
        total = store.count_calls(db, filters, candidate_ids)
        calls = store.list_calls(db, filters, candidate_ids, sort=sort, skip=skip, size=page_size,
                                 total=total)
    names = people_store.candidate_names(db, (c.candidate_id for c in calls))
    candidates = {cid: readable(name, "(name cannot be decrypted)") for cid, name in names.items()}
    jobs = people_store.job_titles(db, (c.job_id for c in calls))
    now = utcnow()
    return Page(data=[_row(c, candidates, jobs, now) for c in calls], count=total)


def page_count(total: int, page_size: int) -> int:
    """How many pages `total` rows make (at least one, so page 1 always exists)."""
    size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    return max(1, -(-total // size))


def browse(db: Database, filters: CallFilters, sort: str, page: int, page_size: int,
           *, user: User | None = None) -> CallList:
    """The page of calls the list shows: page `page`, or the last page when the filters shrank
    the result below it."""
    rows = list_calls(db, filters, sort, page, page_size, user=user)
    pages = page_count(rows.count, page_size)
    if page > pages:
        page = pages
        rows = list_calls(db, filters, sort, page, page_size, user=user)
    return CallList(rows=rows, page=max(1, int(page)), pages=pages)


def job_choices(db: Database) -> dict[str, str]:
    """Job id → title for the list's job filter (archived jobs too), newest first."""
    return {job.id: job.title for job in people_store.recent_jobs(db)}
