"""Worker heartbeats in `app_state`: one document per process (kind, host and pid)."""

from __future__ import annotations

import os
import socket
from datetime import datetime

from pymongo.database import Database

from core.db import APP_STATE, utcnow


def _key(process: str) -> str:
    return f"heartbeat:{process}:{socket.gethostname()}:{os.getpid()}"


def beat(db: Database, process: str = "worker", detail: str = "") -> None:
    """Record that this process is alive (one document per host and pid)."""
    db[APP_STATE].update_one(
        {"_id": _key(process)},
        {"$set": {"kind": "heartbeat", "process": process, "at": utcnow(), "detail": detail}},
        upsert=True,
    )


def forget(db: Database, process: str = "worker") -> None:
    """Remove this process's heartbeat on a clean shutdown."""
    db[APP_STATE].delete_one({"_id": _key(process)})


def last_heartbeat(db: Database, process: str = "worker") -> datetime | None:
    """When any process of that kind last reported, or None."""
    doc = db[APP_STATE].find_one(
        {"kind": "heartbeat", "process": process}, sort=[("at", -1)], projection={"at": 1}
    )
    return doc["at"] if doc else None
