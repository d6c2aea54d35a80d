"""The month's spend, as the dialer and as the usage page compute it (side by side)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pymongo.database import Database

from core.agent.models import GlobalVoiceConfig
from core.config import get_settings
from core.db import CALLS, utcnow
from core.documents.status import OPEN_VALUES as _OPEN
from core.documents.status import CallStatus
from core.usage import budget_view

# -- budget ----------------------------------------------------------------------------------


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
    ended = budget_view.spend_this_month(db, now=now)
    rows = db[CALLS].aggregate([
        {"$match": {"created_at": {"$gte": month_start(now)},
                    "status": {"$in": [s for s in _OPEN if s != CallStatus.QUEUED.value]}}},
        {"$group": {"_id": None, "live_minutes": {"$sum": {
            "$ifNull": ["$config_snapshot.config.max_duration_minutes", 0]}}}},
    ])
    row = next(iter(rows), None)
    # Live calls count at their maximum: two dials in a row must not both fit one last dollar.
    live = Decimal(str(row["live_minutes"])) * _rate_per_minute() if row else Decimal(0)
    return (ended + live).quantize(Decimal("0.01"))
