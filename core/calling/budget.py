"""Would the next call exceed the monthly budget?"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from core.agent.models import GlobalVoiceConfig
from core.db import Database
from core.usage.spend import estimated_call_cost, month_spend


def budget_problem(db: Database, config: GlobalVoiceConfig, now: datetime | None = None,
                   *, spent: Decimal | None = None) -> str | None:
    """Why the next call would exceed the monthly budget, or None when it fits."""
    spent = month_spend(db, now) if spent is None else spent
    next_call = estimated_call_cost(config)
    if spent + next_call > config.monthly_budget:
        return (f"Over the monthly budget: ${spent} spent or committed this month, one more call "
                f"may cost up to ${next_call}, the budget is ${config.monthly_budget}.")
    return None
