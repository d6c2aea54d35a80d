"""Shared fixtures: a throwaway embedded MongoDB per session, a fresh database per test."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["ENV_FILE"] = ""  # never read a developer's .env in tests
# Sandbox secrets of this test session (what the app and the sandbox generate and share),
# never the developer's .data/sandbox-secrets.json; removed at the end of the session.
os.environ["SANDBOX_SECRETS_FILE"] = os.path.join(tempfile.mkdtemp(prefix="vsc-test-"), "secrets.json")

from core import db as dbmod  # noqa: E402
from core.config import get_settings  # noqa: E402
from core.providers import telephony, ultravox  # noqa: E402
from tools.embedded_db import launcher as embedded_db

ROOT = Path(__file__).resolve().parent.parent
_SECRETS_DIR = os.path.dirname(os.environ["SANDBOX_SECRETS_FILE"])
ARTIFACTS = ROOT / "tests" / "artifacts"


def _clear_caches() -> None:
    get_settings.cache_clear()
    dbmod.get_client.cache_clear()
    # Provider clients are cached by address: a later test on a reused port must not inherit a
    # client whose circuit breaker an earlier test opened.
    ultravox._client_for.cache_clear()
    telephony._gateway_for.cache_clear()
    try:
        import streamlit as st

        st.cache_data.clear()
        st.cache_resource.clear()
    except Exception:  # noqa: BLE001 - streamlit absent or not initialised: nothing cached
        pass


@pytest.fixture(scope="session", autouse=True)
def _session_secrets_dir() -> Iterator[None]:
    yield
    shutil.rmtree(_SECRETS_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[str]:
    """A throwaway in-memory MongoDB wire-protocol server on a free port."""
    uri = os.environ.get("TEST_MONGODB_URI")
    if uri:  # allow pointing the suite at a real MongoDB
        yield uri
        return
    server = embedded_db.start(embedded_db.free_port(), None, timeout=90)
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture
def test_env(monkeypatch: pytest.MonkeyPatch, mongo_server: str) -> Iterator[dict[str, str]]:
    """Environment for one test: its own database name, sandbox providers."""
    env = {
        "MONGODB_URI": mongo_server,
        "MONGODB_DB": f"test_{uuid.uuid4().hex[:12]}",
        "PROVIDER_MODE": "sandbox",
        "ENV_FILE": "",
    }
    for key in (
        "ULTRAVOX_API_KEY",
        "ULTRAVOX_WEBHOOK_SECRET",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM_NUMBER",
        "PUBLIC_BASE_URL",
        "DATA_ENCRYPTION_KEY",
        "DATA_ENCRYPTION_OLD_KEYS",
        "LOOKUP_HASH_KEY",
        "RECORDING_URL_KEY",
        "TOOL_AUTH_KEY",
        "AUTH_COOKIE_KEY",
        "ADMIN_USERNAME",
        "ADMIN_PASSWORD",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    _clear_caches()
    yield env
    _clear_caches()


@pytest.fixture
def db(test_env: dict[str, str]):
    """A fresh, indexed database for one test, dropped afterwards."""
    database = dbmod.get_db()
    dbmod.ensure_indexes(database)
    yield database
    database.client.drop_database(database.name)


@pytest.fixture(autouse=True)
def _isolate_caches() -> Iterator[None]:
    _clear_caches()
    yield


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots and other test outputs go (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
