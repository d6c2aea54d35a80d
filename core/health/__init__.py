"""Process health: worker heartbeats (`store`) and the one-line status the sidebar shows (`status`)."""

from __future__ import annotations

from core.health.status import HEARTBEAT_STALE_AFTER, describe_age, sidebar_summary, worker_status
from core.health.store import beat, forget, last_heartbeat

__all__ = [
    "HEARTBEAT_STALE_AFTER",
    "beat",
    "describe_age",
    "forget",
    "last_heartbeat",
    "sidebar_summary",
    "worker_status",
]
