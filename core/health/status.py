"""What the dashboard says about process health: age texts and the sidebar's one line."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.db import Database, utcnow
from core.health.store import last_heartbeat

HEARTBEAT_STALE_AFTER = timedelta(seconds=30)


def describe_age(at: datetime | None, now: datetime | None = None) -> str:
    """'12 s ago' style text for a timestamp."""
    if at is None:
        return "never"
    seconds = max(0, int(((now or utcnow()) - at).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    return f"{seconds // 3600} h ago"


def worker_status(at: datetime | None, now: datetime) -> str:
    """The worker's state from its last heartbeat: not running, silent since …, or alive."""
    if at is None:
        return "worker: not running"
    if now - at > HEARTBEAT_STALE_AFTER:
        return f"worker: silent since {describe_age(at, now)}"
    return f"worker: alive ({describe_age(at, now)})"


def sidebar_summary(db: Database, now: datetime | None = None) -> str:
    """Database and worker health in one line."""
    at = last_heartbeat(db)
    return f"Database: connected · {worker_status(at, now or utcnow())}"
