"""The audit log: who did what, when, and what changed.

`from core import audit; audit.record(...)` is how every feature writes to it; the queries
live in `store`, the pure `diff` in `changes`.
"""

from __future__ import annotations

from core.audit.changes import diff
from core.audit.models import AuditEntry
from core.audit.store import recent, record

__all__ = ["AuditEntry", "diff", "recent", "record"]
