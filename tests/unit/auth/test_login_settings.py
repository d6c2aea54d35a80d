"""The log-in settings: TRUSTED_PROXY and SESSION_IDLE_HOURS."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest

from core.config import Settings, describe_error


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in ("TRUSTED_PROXY", "SESSION_IDLE_HOURS"):
        monkeypatch.delenv(key, raising=False)


def _settings() -> Settings:
    return Settings(_env_file=None, provider_mode="sandbox")


def test_defaults_trust_no_proxy_and_end_idle_sessions_after_8_hours():
    settings = _settings()
    assert settings.trusted_proxies == ()
    assert settings.session_idle == timedelta(hours=8)


def test_trusted_proxy_takes_addresses_and_ranges(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXY", "127.0.0.1, 10.0.0.0/24")
    assert _settings().trusted_proxies == (
        ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/24"))


def test_a_bad_trusted_proxy_names_the_variable(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXY", "proxy.internal")
    with pytest.raises(ValueError) as info:
        _settings()
    message = describe_error(info.value)
    assert "TRUSTED_PROXY" in message and "proxy.internal" in message


def test_session_idle_hours_must_be_positive(monkeypatch):
    monkeypatch.setenv("SESSION_IDLE_HOURS", "0")
    with pytest.raises(ValueError) as info:
        _settings()
    assert "SESSION_IDLE_HOURS" in describe_error(info.value)
    monkeypatch.setenv("SESSION_IDLE_HOURS", "0.5")
    assert _settings().session_idle == timedelta(minutes=30)
