"""The voice library as the pages see it: voices, models, previews, filters."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.agent import catalog
from core.agent.models import VoiceInfo, VoiceModel
from core.db import Database

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------
# Voice library (delegates to core.agent.catalog)
# ---------------------------------------------------------------------------------------


@dataclass
class VoiceLibrary:
    """The voices to choose from; `stale` when the API is down and the last good list is shown."""

    voices: list[VoiceInfo] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    stale: bool = False
    fetched_at: datetime | None = None
    error: str | None = None

    @property
    def available(self) -> bool:
        """True when a list (fresh or last known) exists."""
        return bool(self.voices)


def voice_library(db: Database, *, refresh: bool = False, with_models: bool = True) -> VoiceLibrary:
    """Voices and models from the catalog (cached; the last good list when Ultravox is down)."""
    try:
        voices = catalog.get_voices(db, force=refresh)
    except Exception as exc:  # noqa: BLE001 - no list at all: an error state, never a crash
        log.warning("voice library unavailable: %s", type(exc).__name__)
        return VoiceLibrary(error=str(exc) or "Ultravox is unavailable and no voice list is cached.")
    models: list[str] = []
    try:
        if with_models:
            models = [m.get("name") for m in catalog.get_models(db).items if m.get("name")]
    except Exception:  # noqa: BLE001 - models are optional; the default is always offered
        log.warning("model list unavailable")
    return VoiceLibrary(
        voices=[voice_info(item) for item in voices.items],
        models=[m.name for m in VoiceModel.ordered(models)],
        stale=voices.stale,
        fetched_at=voices.fetched_at,
        error=getattr(voices, "notice", None) or voices.error,
    )


def voice_info(item: dict[str, Any]) -> VoiceInfo:
    """A VoiceInfo from one cached catalog item."""
    return VoiceInfo(
        voice_id=str(item.get("voice_id") or item.get("voiceId") or ""),
        name=str(item.get("name") or ""),
        description=item.get("description") or "",
        primary_language=item.get("language") or item.get("primary_language"),
        language_label=item.get("language_label"),
        provider=item.get("provider"),
        preview_url=item.get("preview_url"),
        billing_style=item.get("billing_style"),
    )


def voice_preview(db: Database, voice_id: str) -> bytes | None:
    """A voice's preview audio (WAV bytes), fetched server-side; None when unavailable."""
    try:
        return catalog.voice_preview(db, voice_id)
    except Exception as exc:  # noqa: BLE001 - a missing preview is shown as such
        log.warning("voice preview unavailable: %s", type(exc).__name__)
        return None


def _known_voices(db: Database) -> list[VoiceInfo] | None:
    library = voice_library(db, with_models=False)
    return library.voices if library.available else None


def filter_voices(
    voices: list[VoiceInfo], *, search: str = "", languages: Iterable[str] = (),
    providers: Iterable[str] = (),
) -> list[VoiceInfo]:
    """Voices matching a free-text search and the chosen languages and providers."""
    needle = search.strip().casefold()
    langs, provs = set(languages), set(providers)
    return [
        v for v in voices
        if (not needle or needle in f"{v.name} {v.description} {v.language_label or ''}".casefold())
        and (not langs or (v.primary_language or "unknown") in langs)
        and (not provs or (v.provider or "unknown") in provs)
    ]


def voice_ref(voice: VoiceInfo, library: list[VoiceInfo]) -> str:
    """How a config names a voice: its name when unique (readable history), else its id."""
    same = [v for v in library if v.name.casefold() == voice.name.casefold()]
    return voice.name if len(same) <= 1 else voice.voice_id
