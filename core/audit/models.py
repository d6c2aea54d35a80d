"""An audit-log entry (`audit_log`) as read back."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.documents.base import Document, Instant


class AuditEntry(Document):
    """Who did what to which entity, when, and what changed (field → {"old", "new"})."""

    at: Instant = None
    actor: str = ""
    action: str = ""
    entity: str = ""
    entity_id: str | None = None
    changes: dict[str, dict[str, Any]] = Field(default_factory=dict)
    detail: str | None = None
