"""Every query on the agent's caches: provider lists (`provider_cache`) and voice previews.

Voice previews share `media_cache` with call recordings; the recordings are review's
(`core/review/recordings.py`), only the `voice-preview:*` entries are queried here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.database import Database

from core.agent.records import CachedList, CachedPreview
from core.db import MEDIA_CACHE, PROVIDER_CACHE


def _preview_key(voice_id: str) -> str:
    return f"voice-preview:{voice_id}"


def get_list(db: Database, key: str) -> CachedList | None:
    """The cached provider list named `key` ("voices", "models"), or None."""
    return CachedList.from_doc(db[PROVIDER_CACHE].find_one({"_id": key}))


def save_list(db: Database, key: str, items: list[dict[str, Any]], fetched_at: datetime) -> None:
    """Replace the items of the cached list `key`, fetched at `fetched_at`."""
    db[PROVIDER_CACHE].update_one(
        {"_id": key}, {"$set": {"items": items, "fetched_at": fetched_at}}, upsert=True
    )


def get_preview(db: Database, voice_id: str) -> CachedPreview | None:
    """The cached preview audio of a voice (expired or not), or None."""
    return CachedPreview.from_doc(db[MEDIA_CACHE].find_one({"_id": _preview_key(voice_id)}))


def save_preview(db: Database, voice_id: str, content: bytes, content_type: str | None,
                 expires_at: datetime) -> None:
    """Keep a voice's preview audio until `expires_at` (the purge job removes it after)."""
    db[MEDIA_CACHE].update_one(
        {"_id": _preview_key(voice_id)},
        {"$set": {"content": content, "content_type": content_type,
                  "kind": "voice_preview", "expires_at": expires_at}},
        upsert=True,
    )
