"""The usage page's budget figures: this month's recorded spend against the budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from pymongo.database import Database

from core.usage.costs import BUDGET_WARNING_FRACTION, from_micros, money_str, to_decimal
from core.usage.rollups import month_spend_micros

# -- budget -------------------------------------------------------------------------------


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


def spend_this_month(db: Database, *, now: datetime | None = None) -> Decimal:
    """Everything spent on calls created this UTC month (estimates included), from the rollups."""
    return from_micros(month_spend_micros(db, month_key(now)))


def budget_state(
    db: Database, monthly_budget: Decimal | str | int, *, now: datetime | None = None
) -> BudgetState:
    """This month's spend against `monthly_budget`, with a warning from 80 % on."""
    budget = to_decimal(monthly_budget)
    spent = spend_this_month(db, now=now)
    month = month_key(now)
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
