"""The month's spend, computed two ways, side by side.

- The dialer's (`month_spend`, checked by core.calling before each dial): what the calls
  created this UTC month have cost so far (the usage rollups, estimates included) plus every
  live call at its maximum length, so that two dials in a row cannot both fit one last dollar.
- The usage page's (`spend_this_month`, `budget_state`): the recorded spend alone, against the
  monthly budget, with a warning level from 80 %.

They differ today (live calls count for the dialer only; the page has levels and messages).
A later change replaces both with one rule; until then each keeps its behaviour exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from core.agent.models import GlobalVoiceConfig
from core.config import get_settings
from core.db import Database, utcnow
from core.documents.status import OPEN_VALUES, CallStatus
from core.usage import store
from core.usage.costs import BUDGET_WARNING_FRACTION, from_micros, money_str, to_decimal
from core.usage.counters import money_micros

# Calls that are dialling or talking (queued ones have not committed any money yet).
_LIVE = [s for s in OPEN_VALUES if s != CallStatus.QUEUED.value]

# -- the dialer's rule -----------------------------------------------------------------------


def month_start(now: datetime) -> datetime:
    """Midnight UTC on the first day of `now`'s month."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _rate_per_minute() -> Decimal:
    s = get_settings()
    return s.ultravox_rate_per_minute + s.telephony_rate_per_minute


def estimated_call_cost(config: GlobalVoiceConfig) -> Decimal:
    """The most one call can cost: its maximum duration at the configured per-minute rates."""
    return (Decimal(config.max_duration_minutes) * _rate_per_minute()).quantize(Decimal("0.01"))


def month_spend(db: Database, now: datetime | None = None) -> Decimal:
    """Spend this month: ended calls from the usage rollups, live calls at their maximum."""
    now = now or utcnow()
    ended = spend_this_month(db, now=now)
    minutes = store.live_max_minutes(db, created_from=month_start(now), statuses=_LIVE)
    # Live calls count at their maximum: two dials in a row must not both fit one last dollar.
    live = Decimal(str(minutes)) * _rate_per_minute() if minutes is not None else Decimal(0)
    return (ended + live).quantize(Decimal("0.01"))


# -- the usage page's rule -------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetState:
    """This month's spend against the monthly budget; `level` is ok, warning or exceeded."""

    month: str
    budget: Decimal
    spent: Decimal
    level: str
    message: str

    @property
    def remaining(self) -> Decimal:
        """Budget left this month (never negative)."""
        return max(self.budget - self.spent, Decimal(0))

    @property
    def fraction(self) -> Decimal:
        """Share of the budget spent (1 when the budget is zero and anything was spent)."""
        if self.budget <= 0:
            return Decimal(1) if self.spent > 0 else Decimal(0)
        return self.spent / self.budget

    def allows(self, next_call_estimate: Decimal = Decimal(0)) -> bool:
        """True if one more call of that estimated cost keeps the month within budget."""
        return self.spent + next_call_estimate <= self.budget and self.level != "exceeded"

    def hold_reason(self) -> str:
        """Why a dial is held (for the launch page and the call's failure_reason)."""
        return (
            f"Monthly budget reached: {money_str(self.spent)} of {money_str(self.budget)} "
            f"spent in {self.month}. Raise the budget in Global settings to continue."
        )


def month_key(at: datetime | None = None) -> str:
    """The UTC month of a time as "YYYY-MM" (the budget period)."""
    return (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m")


def month_spend_micros(db: Database, month: str) -> int:
    """Total cost (estimated + actual, micros) of the calls created in a "YYYY-MM" month."""
    return sum(money_micros(r.counters) for r in store.month_day_rollups(db, month))


def spend_this_month(db: Database, *, now: datetime | None = None) -> Decimal:
    """Everything spent on calls created this UTC month (estimates included), from the rollups."""
    return from_micros(month_spend_micros(db, month_key(now)))


def budget_level(spent: Decimal, budget: Decimal, month: str) -> BudgetState:
    """The level and message of `spent` against `budget` in `month` (warning from 80 %)."""
    if spent >= budget:
        level = "exceeded"
        message = (
            f"The monthly budget is used up: {money_str(spent)} of {money_str(budget)} "
            "spent. New calls are held until next month or a higher budget."
        )
    elif budget > 0 and spent >= budget * BUDGET_WARNING_FRACTION:
        level = "warning"
        message = (
            f"{money_str(spent)} of {money_str(budget)} spent this month "
            f"({spent / budget:.0%}); calls stop when the budget is reached."
        )
    else:
        level = "ok"
        message = f"{money_str(spent)} of {money_str(budget)} spent this month."
    return BudgetState(month=month, budget=budget, spent=spent, level=level, message=message)


def budget_state(
    db: Database, monthly_budget: Decimal | str | int, *, now: datetime | None = None
) -> BudgetState:
    """This month's spend against `monthly_budget`, with a warning from 80 %."""
    budget = to_decimal(monthly_budget)
    spent = spend_this_month(db, now=now)
    return budget_level(spent, budget, month_key(now))
