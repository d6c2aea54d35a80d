"""Ultravox's voices and models, cached in the database with a time to live."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from core.agent import catalog_store
from core.db import Database, utcnow
from core.providers.media import MAX_PREVIEW_BYTES, MediaRefused
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.ultravox import UltravoxClient, get_ultravox

log = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(hours=6)
_MAX_ITEMS = 2000  # bounds the cached document (Mongo's 16 MB limit, page payloads)


@dataclass
class CatalogList:
    """A cached provider list: its items, when fetched, and whether it is a stale fallback."""

    items: list[dict[str, Any]]
    fetched_at: datetime | None
    stale: bool = False
    error: str | None = None
    source: str = field(default="cache")  # "api" or "cache"

    @property
    def notice(self) -> str | None:
        """A sentence for the page when the list is not fresh, else None."""
        if not self.stale:
            return None
        when = self.fetched_at.strftime("%Y-%m-%d %H:%M UTC") if self.fetched_at else "earlier"
        return f"Showing the list from {when}; {self.error or 'Ultravox is unavailable'}."


def _voice_items(client: UltravoxClient) -> list[dict[str, Any]]:
    return [
        {
            "voice_id": v.voice_id,
            "name": v.name,
            "language": v.primary_language,
            "language_label": v.language_label,
            "description": v.description,
            "preview_url": v.preview_url,
            "provider": v.provider,
            "billing_style": v.billing_style,
        }
        for v in client.list_voices()
    ][:_MAX_ITEMS]


def _model_items(client: UltravoxClient) -> list[dict[str, Any]]:
    return [{"name": m.name} for m in client.list_models()][:_MAX_ITEMS]


def _cached(
    db: Database,
    key: str,
    fetch: Callable[[UltravoxClient], list[dict[str, Any]]],
    client: UltravoxClient | None,
    ttl: timedelta,
    force: bool,
) -> CatalogList:
    cached = catalog_store.get_list(db, key)
    now = utcnow()
    if cached and not force and cached.fetched_at and now - cached.fetched_at < ttl:
        return CatalogList(cached.items or [], cached.fetched_at, source="cache")
    try:
        items = fetch(client or get_ultravox())
    except (ProviderUnavailable, ProviderError) as exc:
        if not cached:
            raise
        log.warning("Ultravox %s list unavailable; serving the cached copy", key)
        return CatalogList(cached.items or [], cached.fetched_at, stale=True,
                           error=str(exc).rstrip("."), source="cache")
    catalog_store.save_list(db, key, items, now)
    return CatalogList(items, now, source="api")


def get_voices(db: Database, client: UltravoxClient | None = None, *,
               ttl: timedelta = DEFAULT_TTL, force: bool = False) -> CatalogList:
    """Voices for the dashboard: cached copy within `ttl`, else fetched; stale copy if Ultravox is down.

    Raises ProviderUnavailable/ProviderError only when there is no cached copy at all.
    """
    return _cached(db, "voices", _voice_items, client, ttl, force)


def get_models(db: Database, client: UltravoxClient | None = None, *,
               ttl: timedelta = DEFAULT_TTL, force: bool = False) -> CatalogList:
    """Model aliases for the dashboard, cached like `get_voices`."""
    return _cached(db, "models", _model_items, client, ttl, force)


_PREVIEW_TTL = timedelta(days=7)


# A voice id goes into the request path: only plain ids (Ultravox uses UUIDs) are sent.
_VOICE_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def voice_preview(db: Database, voice_id: str, client: UltravoxClient | None = None) -> bytes | None:
    """A voice's preview audio, fetched server-side once and kept in MEDIA_CACHE for a week.

    The download follows the provider's redirect only to allowed hosts, without our key, and
    stops past MAX_PREVIEW_BYTES (core.providers.media); a refused one counts as no preview.
    """
    if not _VOICE_ID.match(voice_id or ""):
        return None
    cached = catalog_store.get_preview(db, voice_id)
    now = utcnow()
    if cached and cached.expires_at and cached.expires_at > now:
        return bytes(cached.content)
    try:
        recording = (client or get_ultravox()).get_voice_preview(voice_id)
    except MediaRefused as exc:
        log.warning("voice preview not fetched: %s", exc.provider_message)
        return None
    if recording is None or not recording.content or len(recording.content) > MAX_PREVIEW_BYTES:
        return None
    catalog_store.save_preview(db, voice_id, recording.content, recording.content_type,
                               now + _PREVIEW_TTL)
    return recording.content
