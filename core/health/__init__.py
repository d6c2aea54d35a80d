"""Process health: worker heartbeats and the one-line status the sidebar shows."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from pymongo.database import Database

from core.db import APP_STATE, utcnow

HEARTBEAT_STALE_AFTER = timedelta(seconds=30)


def beat(db: Database, process: str = "worker", detail: str = "") -> None:
    """Record that this process is alive (one document per host and pid)."""
    key = f"heartbeat:{process}:{socket.gethostname()}:{os.getpid()}"
    db[APP_STATE].update_one(
        {"_id": key},
        {"$set": {"kind": "heartbeat", "process": process, "at": utcnow(), "detail": detail}},
        upsert=True,
    )


def forget(db: Database, process: str = "worker") -> None:
    """Remove this process's heartbeat on a clean shutdown."""
    db[APP_STATE].delete_one({"_id": f"heartbeat:{process}:{socket.gethostname()}:{os.getpid()}"})


def last_heartbeat(db: Database, process: str = "worker") -> datetime | None:
    """When any process of that kind last reported, or None."""
    doc = db[APP_STATE].find_one(
        {"kind": "heartbeat", "process": process}, sort=[("at", -1)], projection={"at": 1}
    )
    return doc["at"] if doc else None


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


def sidebar_summary(db: Database, now: datetime | None = None) -> str:
    """Database and worker health in one line."""
    at = last_heartbeat(db)
    now = now or utcnow()
    if at is None:
        worker = "worker: not running"
    elif now - at > HEARTBEAT_STALE_AFTER:
        worker = f"worker: silent since {describe_age(at, now)}"
    else:
        worker = f"worker: alive ({describe_age(at, now)})"
    return f"Database: connected · {worker}"
