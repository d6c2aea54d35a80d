"""Filters of the calls list, and the small helpers every review view shares."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pymongo.database import Database

from core import crypto
from core.documents.status import OPEN_STATUSES, CallStatus
from core.db import CANDIDATES
from core.errors import UserError
from core.people.phones import PhoneNumberError, normalize_phone

DECISIONS: tuple[str, ...] = ("advance", "hold", "reject")
UNDECIDED = "undecided"  # decision filter value: calls nobody has reviewed yet
MAX_PAGE_SIZE = 100  # one page of the table; the cap keeps a hand-edited request bounded
MAX_NOTES = 5000
# A name prefix matching more candidates than this is refused ("type more of the name"): the
# calls query takes the matching ids in an $in, which must stay small.
MAX_NAME_MATCHES = 2000
_MAX_PHONE_MATCHES = 5
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_OPEN = frozenset(s.value for s in OPEN_STATUSES)

# What the table needs of a call: an inclusion projection keeps the prompt, the config
# snapshot, the request body and the summaries off the wire.
_LIST_FIELDS = {
    "candidate_id": 1,
    "job_id": 1,
    "status": 1,
    "created_at": 1,
    "dialed_at": 1,
    "answered_at": 1,
    "ended_at": 1,
    "duration_seconds": 1,
    "billed_duration_seconds": 1,
    "costs": 1,
    "review.decision": 1,
    "end_reason": 1,
    "failure_reason": 1,
    "opt_out": 1,
    "hold_reason": 1,
    "next_attempt_at": 1,
    "attempt": 1,
}
SORTS: dict[str, tuple[str, list[tuple[str, int]]]] = {
    "newest": ("Newest first", [("created_at", -1), ("_id", -1)]),
    "oldest": ("Oldest first", [("created_at", 1), ("_id", 1)]),
    "longest": ("Longest first", [("duration_seconds", -1), ("created_at", -1), ("_id", -1)]),
    "shortest": ("Shortest first", [("duration_seconds", 1), ("created_at", -1), ("_id", -1)]),
    "status": ("Status", [("status", 1), ("created_at", -1), ("_id", -1)]),
    "costliest": ("Costliest first", [("costs.total_micros", -1), ("created_at", -1), ("_id", -1)]),
    "decision": ("Decision", [("review.decision", 1), ("created_at", -1), ("_id", -1)]),
}
DEFAULT_SORT = "newest"


class ReviewError(UserError, ValueError):
    """Bad review input or a filter that cannot run; the message is shown to the user."""


@dataclass(frozen=True)
class CallFilters:
    """Server-side filters of the calls list; empty fields do not filter."""

    job_id: str | None = None
    statuses: tuple[str, ...] = ()
    date_from: datetime | None = None  # inclusive, on created_at (aware)
    date_to: datetime | None = None  # exclusive
    decision: str | None = None  # one of DECISIONS or UNDECIDED
    candidate: str = ""  # a name prefix or a phone number


# -- helpers ------------------------------------------------------------------------------


def valid_call_id(value: Any) -> str | None:
    """The call id if `value` is a plain id string (a deep-link parameter), else None."""
    return value if isinstance(value, str) and _ID_RE.match(value) else None


def day_range(start: date | None, end: date | None, zone: str) -> tuple[datetime | None, datetime | None]:
    """Local calendar days [start, end] in `zone` as a UTC [from, to) range for the filters."""
    tz = _zone(zone)
    lo = datetime.combine(start, time.min, tz).astimezone(UTC) if start else None
    hi = datetime.combine(end + timedelta(days=1), time.min, tz).astimezone(UTC) if end else None
    return lo, hi


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def call_cost(call: dict[str, Any]) -> tuple[Decimal | None, bool]:
    """The call's total cost (the `costs` field core.costs writes) and whether part is estimated."""
    costs = call.get("costs") or {}
    total = costs.get("total")
    if total is None:
        return None, False
    try:
        amount = Decimal(str(total))
    except (InvalidOperation, ValueError):
        return None, False
    estimated = any(bool(costs.get(k)) for k in ("ai_estimated", "telephony_estimated", "estimated"))
    return amount, estimated


def _started(call: dict[str, Any]) -> datetime | None:
    return _aware(call.get("dialed_at")) or _aware(call.get("created_at"))


def _candidate_ids(db: Database, text: str) -> list[str]:
    """Candidate ids matching a phone number (by its hash) or a name prefix."""
    text = " ".join(text.split())
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 7 and re.fullmatch(r"[\d\s+().\-/]+", text):
        try:
            e164 = normalize_phone(text)
        except PhoneNumberError as exc:
            raise ReviewError(f"That is not a valid phone number: {exc}") from None
        docs = db[CANDIDATES].find({"phone_hash": crypto.phone_hash(e164)}, {"_id": 1})
        return [d["_id"] for d in docs.limit(_MAX_PHONE_MATCHES)]
    prefix = "^" + re.escape(text.lower())
    docs = list(
        db[CANDIDATES].find({"name_lower": {"$regex": prefix}}, {"_id": 1}).limit(MAX_NAME_MATCHES + 1)
    )
    if len(docs) > MAX_NAME_MATCHES:
        raise ReviewError(
            f"More than {MAX_NAME_MATCHES:,} candidates' names start with “{text}”; type more of the name."
        )
    return [d["_id"] for d in docs]


def build_query(db: Database, filters: CallFilters) -> dict[str, Any] | None:
    """The calls query for the filters; None when no call can match (e.g. nobody by that name)."""
    query: dict[str, Any] = {}
    if filters.job_id:
        query["job_id"] = str(filters.job_id)
    if filters.statuses:
        known = {s.value for s in CallStatus}
        bad = [s for s in filters.statuses if s not in known]
        if bad:
            raise ReviewError(f"Unknown status: {', '.join(map(str, bad))}.")
        query["status"] = {"$in": sorted(set(filters.statuses))}
    created: dict[str, Any] = {}
    if filters.date_from:
        created["$gte"] = filters.date_from
    if filters.date_to:
        created["$lt"] = filters.date_to
    if created:
        query["created_at"] = created
    if filters.decision:
        if filters.decision == UNDECIDED:
            query["review.decision"] = None  # matches a missing review as well
        elif filters.decision in DECISIONS:
            query["review.decision"] = filters.decision
        else:
            raise ReviewError(f"Unknown decision: {filters.decision}.")
    if filters.candidate.strip():
        ids = _candidate_ids(db, filters.candidate)
        if not ids:
            return None
        query["candidate_id"] = ids[0] if len(ids) == 1 else {"$in": ids}
    return query
