"""Sandbox mode shows what live mode would refuse; live mode shows run-time problems in red."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core import db as dbmod
from core import startup
from core.config import get_settings
from tests.support.apptest import APP, TIMEOUT, make_user, signed_in, texts

LIVE_ENV = {
    "PROVIDER_MODE": "live",
    "ULTRAVOX_API_KEY": "abcdefgh.abcdefghabcdefghabcdefghabcdefgh",
    "ULTRAVOX_WEBHOOK_SECRET": "webhook-secret",
    "TWILIO_ACCOUNT_SID": "AC" + "4" * 32,
    "TWILIO_AUTH_TOKEN": "twilio-token",
    "TWILIO_FROM_NUMBER": "+14155550100",
    "PUBLIC_BASE_URL": "https://hooks.example.com",
    "DATA_ENCRYPTION_KEY": "x3V8W5cM6M0kzQ5n1p3Zb2m9L1vZ4cXyqY3m8JQyH1A=",
    "AUTH_COOKIE_KEY": "c" * 48,
    "LOOKUP_HASH_KEY": "l" * 40,
    "RECORDING_URL_KEY": "r" * 40, "TOOL_AUTH_KEY": "t" * 40,
}


def test_the_embedded_stand_in_is_recognised(db):
    facts = dbmod.server_facts(db)
    assert facts["embedded_stand_in"] is True
    problems = startup.runtime_problems(db)
    assert len(problems) == 1 and "embedded stand-in" in problems[0]


def test_a_real_server_without_a_replica_set_is_a_problem(db, monkeypatch):
    facts = {"embedded_stand_in": False, "version": "7.0.0", "replica_set": None, "sharded": False}
    monkeypatch.setattr(dbmod, "server_facts", lambda _db: facts)
    assert "without a replica set" in startup.runtime_problems(db)[0]
    facts["replica_set"] = "rs0"
    assert startup.runtime_problems(db) == []


def test_sandbox_banner_lists_what_is_not_ready_for_live(db):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "Sandbox mode" in texts(at)
    expander = at.expander[0]
    assert expander.label.startswith("Not ready for live")
    listed = "\n".join(t.value for t in expander.text)
    for name in ("ULTRAVOX_API_KEY", "DATA_ENCRYPTION_KEY", "AUTH_COOKIE_KEY"):  # not set in tests
        assert name in listed


def test_live_mode_on_the_embedded_database_shows_a_red_banner_after_log_in(db, monkeypatch):
    for key, value in LIVE_ENV.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    assert get_settings().provider_mode == "live"
    admin = make_user(db, "admin", "root")

    signed_out = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not signed_out.exception
    assert not signed_out.error and "Sandbox mode" not in texts(signed_out)  # nothing for strangers

    at = signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), admin).run()
    errors = [e.value for e in at.error]
    assert any("embedded stand-in" in e for e in errors), errors


def test_a_refused_configuration_shows_one_message_and_nothing_else(test_env, monkeypatch):
    monkeypatch.setenv("PROVIDER_MODE", "")
    monkeypatch.setenv("ULTRAVOX_API_KEY", "abcdefgh.abcdefghabcdefghabcdefghabcdefgh")
    get_settings.cache_clear()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert [e.value for e in at.error][0].count("TWILIO_AUTH_TOKEN") == 1
    assert not at.text_input  # no log-in form
