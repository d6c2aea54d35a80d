"""The log-in cookie key comes from configuration only, never from (or into) the database."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core import auth, startup
from core.config import ConfigError, get_settings
from core.db import APP_STATE
from tests.support.apptest import APP, TIMEOUT

LEGACY = {"_id": "auth_cookie_key", "value": "stolen-from-the-database-" + "x" * 40}


def test_a_key_left_in_the_database_is_ignored_and_removed_at_start(db):
    # Before: anyone who could read app_state could mint an admin cookie with this key.
    db[APP_STATE].insert_one(dict(LEGACY))
    assert auth.cookie_key(get_settings().cookie_key) != LEGACY["value"]
    startup.prepare_database(db)
    assert db[APP_STATE].find_one({"_id": "auth_cookie_key"}) is None


def test_the_dashboard_signs_with_the_configured_key_and_stores_none(db, monkeypatch):
    from core import auth

    used = []
    original = auth.cookie_key

    def spy(configured):
        used.append(original(configured))
        return used[-1]

    monkeypatch.setattr(auth, "cookie_key", spy)
    db[APP_STATE].insert_one(dict(LEGACY))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert used and used[-1] == get_settings().cookie_key != LEGACY["value"]
    assert db[APP_STATE].count_documents({"_id": "auth_cookie_key", "value": {"$ne": LEGACY["value"]}}) == 0


def test_sandbox_key_is_generated_into_the_secrets_file_not_the_database(db, tmp_path, monkeypatch):
    monkeypatch.setenv("SANDBOX_SECRETS_FILE", str(tmp_path / "secrets.json"))
    get_settings.cache_clear()
    key = get_settings().cookie_key
    assert len(key) >= 32 and key in (tmp_path / "secrets.json").read_text()
    assert db[APP_STATE].count_documents({}) == 0


@pytest.mark.parametrize("configured", [None, "", "too-short"])
def test_no_or_a_weak_key_is_refused(configured):
    with pytest.raises(ConfigError, match="AUTH_COOKIE_KEY"):
        auth.cookie_key(configured)
