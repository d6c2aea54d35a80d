"""Filters of the calls list, and the small pure helpers every review view shares."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.documents.call import Call
from core.documents.status import CallStatus
from core.errors import UserError
from core.people.phones import PhoneNumberError, normalize_phone

DECISIONS: tuple[str, ...] = ("advance", "hold", "reject")
UNDECIDED = "undecided"  # decision filter value: calls nobody has reviewed yet
MAX_PAGE_SIZE = 100  # one page of the table; the cap keeps a hand-edited request bounded
MAX_NOTES = 5000
# A name prefix matching more candidates than this is refused ("type more of the name"): the
# calls query takes the matching ids in an $in, which must stay small.
MAX_NAME_MATCHES = 2000
MAX_PHONE_MATCHES = 5
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# The orders of the calls list (the store knows how each one sorts).
SORT_LABELS: dict[str, str] = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "longest": "Longest first",
    "shortest": "Shortest first",
    "status": "Status",
    "costliest": "Costliest first",
    "decision": "Decision",
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


def filters_from_form(
    *,
    job_id: str | None,
    statuses: list[str] | tuple[str, ...],
    dates: Any,
    decision: str | None,
    candidate: str,
    zone: str,
) -> CallFilters:
    """The filters from the list page's form; `dates` is what a date-range input gives (0–2 days)."""
    picked = list(dates) if isinstance(dates, list | tuple) else [dates]
    start = picked[0] if picked else None
    end = picked[1] if len(picked) > 1 else start  # one day picked: that day alone
    date_from, date_to = day_range(start, end, zone)
    return CallFilters(
        job_id=job_id,
        statuses=tuple(statuses),
        date_from=date_from,
        date_to=date_to,
        decision=decision,
        candidate=candidate,
    )


def check_filters(filters: CallFilters) -> None:
    """Refuse a status or decision the list does not know (ReviewError)."""
    if filters.statuses:
        known = {s.value for s in CallStatus}
        bad = [s for s in filters.statuses if s not in known]
        if bad:
            raise ReviewError(f"Unknown status: {', '.join(map(str, bad))}.")
    if filters.decision and filters.decision != UNDECIDED and filters.decision not in DECISIONS:
        raise ReviewError(f"Unknown decision: {filters.decision}.")


def phone_search(text: str) -> str | None:
    """The E.164 number when the candidate search text is a phone number (None: a name prefix)."""
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 7 and re.fullmatch(r"[\d\s+().\-/]+", text):
        try:
            return normalize_phone(text)
        except PhoneNumberError as exc:
            raise ReviewError(f"That is not a valid phone number: {exc}") from None
    return None


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def call_cost(call: Call) -> tuple[Decimal | None, bool]:
    """The call's total cost (the `costs` field core.usage writes) and whether part is estimated."""
    costs = call.costs
    if costs is None or costs.total is None:
        return None, False
    try:
        amount = Decimal(str(costs.total))
    except (InvalidOperation, ValueError):
        return None, False
    return amount, bool(costs.ai_estimated or costs.telephony_estimated)


def currency_of(call: Call) -> str:
    """The currency of the call's costs ("" before any cost is known)."""
    return (call.costs.currency if call.costs else "") or ""
