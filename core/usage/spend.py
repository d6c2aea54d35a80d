"""What this month's calls have cost so far, from the usage rollups (estimates included).

This is the usage page's "spent"; what the dialer checks is the month's committed figure
(core.usage.budget), which also holds the calls in progress at their maximum. The month is
the organisation's (core.usage.period).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from core.db import Database
from core.usage import store
from core.usage.costs import from_micros
from core.usage.counters import money_micros
from core.usage.period import month_key, organisation_zone


def month_spend_micros(db: Database, month: str) -> int:
    """Total cost (estimated + actual, micros) of the calls created in a "YYYY-MM" month."""
    return sum(money_micros(r.counters) for r in store.month_day_rollups(db, month))


def spend_this_month(db: Database, *, now: datetime | None = None, zone: str | None = None) -> Decimal:
    """Everything spent on calls created this month (estimates included), from the rollups."""
    return from_micros(month_spend_micros(db, month_key(now, zone or organisation_zone(db))))
