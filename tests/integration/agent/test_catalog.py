"""Voice and model lists: fetched from the sandbox, cached in MongoDB, stale when Ultravox is down."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from core.agent import catalog
from core.db import MEDIA_CACHE, PROVIDER_CACHE, utcnow
from core.providers.resilience import CircuitBreaker, ProviderUnavailable, RetryPolicy
from core.providers.ultravox import UltravoxClient, get_ultravox
from sandbox import SandboxHandle, config_from_env, start_sandbox
from tools.embedded_db.launcher import free_port

FAST = RetryPolicy(attempts=2, base_delay=0.05, max_delay=0.1)


@pytest.fixture
def sandbox(db, monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxHandle]:
    from core.config import get_settings

    port = free_port()
    monkeypatch.setenv("SANDBOX_PORT", str(port))
    monkeypatch.setenv("PROVIDER_RETRY_ATTEMPTS", "2")
    get_settings.cache_clear()
    handle = start_sandbox(port, config_from_env(webhook_base_url=None, speed=200))
    yield handle
    handle.stop()


def fast_client(sandbox: SandboxHandle) -> UltravoxClient:
    return UltravoxClient(sandbox.base_url, config_from_env(webhook_base_url=None)
                          .ultravox_api_key, retry=FAST,
                          breaker=CircuitBreaker("Ultravox", threshold=50))


def test_fetches_through_the_configured_client_and_caches(db, sandbox: SandboxHandle) -> None:
    assert get_ultravox().base_url == sandbox.base_url  # sandbox mode wiring from settings
    voices = catalog.get_voices(db)
    assert voices.source == "api" and not voices.stale and voices.notice is None
    assert {"voice_id", "name", "language", "preview_url"} <= set(voices.items[0])
    assert len(voices.items) == 12
    again = catalog.get_voices(db)
    assert again.source == "cache" and again.items == voices.items
    assert len(sandbox.received("ultravox", "list_voices")) == 1  # second read hit the DB
    doc = db[PROVIDER_CACHE].find_one({"_id": "voices"})
    assert doc and len(doc["items"]) == 12


def test_expired_cache_is_refreshed(db, sandbox: SandboxHandle) -> None:
    client = fast_client(sandbox)
    catalog.get_models(db, client)
    refreshed = catalog.get_models(db, client, ttl=timedelta(0))
    assert refreshed.source == "api"
    assert "ultravox-v0.7" in [m["name"] for m in refreshed.items]
    assert len(sandbox.received("ultravox", "list_models")) == 2


def test_outage_serves_the_last_good_list_marked_stale(db, sandbox: SandboxHandle) -> None:
    client = fast_client(sandbox)
    first = catalog.get_voices(db, client)
    sandbox.inject_fault(status=503, count=100, path_prefix="/api/voices")
    stale = catalog.get_voices(db, client, force=True)
    assert stale.stale and stale.items == first.items
    assert stale.fetched_at == first.fetched_at or abs(
        (stale.fetched_at - first.fetched_at).total_seconds()) < 0.01
    assert "Showing the list from" in stale.notice and "Ultravox is unavailable" in stale.notice


def test_outage_without_any_cached_list_raises(db, sandbox: SandboxHandle) -> None:
    sandbox.inject_fault(status=503, count=100, path_prefix="/api/models")
    with pytest.raises(ProviderUnavailable, match="Ultravox is unavailable"):
        catalog.get_models(db, fast_client(sandbox))
    assert db[PROVIDER_CACHE].find_one({"_id": "models"}) is None


def test_voice_preview_is_real_audio_fetched_once_and_cached(db, sandbox: SandboxHandle) -> None:
    client = fast_client(sandbox)
    voice_id = catalog.get_voices(db, client).items[0]["voice_id"]
    audio = catalog.voice_preview(db, voice_id, client)
    assert audio[:4] == b"RIFF" and audio[8:12] == b"WAVE" and len(audio) > 1000
    sandbox.inject_fault(status=500, count=10, path_prefix="/api/voices")
    assert catalog.voice_preview(db, voice_id, client) == audio  # served from the cache
    sandbox.clear_faults()
    assert catalog.voice_preview(db, "no-such-voice", fast_client(sandbox)) is None


def test_voice_preview_entries_leave_other_media_alone(db, sandbox: SandboxHandle) -> None:
    client = fast_client(sandbox)
    voice_id = catalog.get_voices(db, client).items[0]["voice_id"]
    db[MEDIA_CACHE].insert_one({"_id": "recording-of-a-call", "call_id": "c1", "expires_at": utcnow()})
    catalog.voice_preview(db, voice_id, client)
    preview = db[MEDIA_CACHE].find_one({"_id": f"voice-preview:{voice_id}"})
    assert preview["kind"] == "voice_preview" and preview["content_type"] and preview["expires_at"]
    assert db[MEDIA_CACHE].find_one({"_id": "recording-of-a-call"})["call_id"] == "c1"
    assert db[MEDIA_CACHE].count_documents({}) == 2
