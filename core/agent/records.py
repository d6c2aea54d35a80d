"""The agent's stored documents as typed models: settings, their versions, cached catalogs.

The config inside a settings document stays plain JSON values (`config`, `overrides`): the
services validate it into `GlobalVoiceConfig` / `JobVoiceConfig`, with their own fallbacks.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from core.documents.base import Document, Instant


class GlobalConfigRecord(Document):
    """The one `global_voice_config` document: the config in force and its version."""

    config: dict[str, Any] = Field(default_factory=dict)
    version: int = 0
    updated_by: str | None = None
    updated_at: Instant = None


class JobConfigRecord(Document):
    """A job's `job_voice_configs` document: its overrides and their version."""

    job_id: str = ""
    overrides: dict[str, Any] | None = None
    version: int = 0
    updated_by: str | None = None
    updated_at: Instant = None


class ConfigVersion(Document):
    """One saved version of a settings scope (`config_versions`): what was saved, by whom, when."""

    scope: str = ""
    version: int = 0
    config: dict[str, Any] = Field(default_factory=dict)
    actor: str = ""
    at: Instant = None
    changes: dict[str, dict[str, Any]] = Field(default_factory=dict)  # field → {"old", "new"}
    restored_from: int | None = None


class CachedList(Document):
    """A provider list kept in `provider_cache` (`_id` "voices" or "models")."""

    items: list[dict[str, Any]] | None = None
    fetched_at: Instant = None


class CachedPreview(Document):
    """A voice's preview audio kept in `media_cache` (the recordings there belong to review)."""

    content: bytes = b""
    content_type: str | None = None
    kind: str | None = None
    expires_at: Instant = None
