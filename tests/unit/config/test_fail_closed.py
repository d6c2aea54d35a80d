"""Configuration fails closed: partial credentials, live-mode requirements, sandbox binding."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.config import LIVE_REQUIREMENTS, Settings, describe_error, live_problems

FERNET_KEY = "x3V8W5cM6M0kzQ5n1p3Zb2m9L1vZ4cXyqY3m8JQyH1A="
CREDENTIALS = {
    "ultravox_api_key": "abcdefgh.abcdefghabcdefghabcdefghabcdefgh",
    "twilio_account_sid": "AC" + "1" * 32,
    "twilio_auth_token": "token-token-token",
    "twilio_from_number": "+14155550100",
}
LIVE = {
    **CREDENTIALS,
    "ultravox_webhook_secret": "webhook-secret",
    "public_base_url": "https://hooks.example.com",
    "data_encryption_key": FERNET_KEY,
    "auth_cookie_key": "c" * 48,
    "mongodb_uri": "mongodb://db.example.net:27017/?replicaSet=rs0",
    "lookup_hash_key": "l" * 40,
    "recording_url_key": "r" * 40,
    "tool_auth_key": "t" * 40,
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("SANDBOX_SECRETS_FILE", str(tmp_path / "secrets.json"))


def make(**kwargs) -> Settings:
    return Settings(_env_file=None, **kwargs)


def refusal(**kwargs) -> str:
    with pytest.raises(ValidationError) as err:
        make(**kwargs)
    return describe_error(err.value)


@pytest.mark.parametrize("given", [["ultravox_api_key"], ["twilio_account_sid", "twilio_auth_token"],
                                   ["ultravox_api_key", "twilio_account_sid", "twilio_auth_token"]])
def test_some_but_not_all_credentials_without_a_mode_are_refused(given):
    # Before: silently sandbox mode, and a real API key sent to the local simulator.
    text = refusal(**{name: CREDENTIALS[name] for name in given})
    for name in CREDENTIALS:
        if name not in given:
            assert name.upper() in text
    assert "PROVIDER_MODE" in text
    assert all(CREDENTIALS[name] not in text for name in given)  # names, never values


def test_all_credentials_mean_live_none_mean_sandbox():
    assert make(**LIVE).provider_mode == "live"
    assert make().provider_mode == "sandbox"
    assert make(provider_mode="sandbox", **CREDENTIALS).is_sandbox  # explicit: allowed


@pytest.mark.parametrize("name", [name for name, _ in LIVE_REQUIREMENTS])
def test_live_mode_refuses_each_missing_requirement_and_says_how(name):
    values = {k: v for k, v in LIVE.items() if k != name}
    text = refusal(provider_mode="live", **values)
    assert f"{name.upper()} is not set" in text
    assert "\n" not in text  # one line
    howto = dict(LIVE_REQUIREMENTS)[name]
    assert howto in text


def test_the_fernet_refusal_gives_the_command_that_makes_a_key():
    text = refusal(provider_mode="live", **{k: v for k, v in LIVE.items() if k != "data_encryption_key"})
    assert "Fernet.generate_key()" in text


def test_live_mode_needs_an_https_url_and_a_long_cookie_key():
    assert "https" in refusal(**{**LIVE, "public_base_url": "http://hooks.example.com"})
    assert "AUTH_COOKIE_KEY is too short" in refusal(**{**LIVE, "auth_cookie_key": "short"})


@pytest.mark.parametrize("variable,value", [("dashboard_bind", "0.0.0.0"), ("webhook_bind", "192.168.1.5"),
                                            ("dashboard_bind", "example.com"), ("webhook_bind", "::")])
def test_sandbox_mode_refuses_a_non_loopback_bind_address(variable, value):
    text = refusal(**{variable: value})
    assert variable.upper() in text and "loopback" in text


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_sandbox_mode_accepts_loopback_addresses(value):
    assert make(dashboard_bind=value, webhook_bind=value).is_sandbox


def test_live_mode_may_listen_on_every_interface():
    assert make(**LIVE, dashboard_bind="0.0.0.0", webhook_bind="0.0.0.0").provider_mode == "live"


def test_not_ready_for_live_lists_what_live_mode_would_refuse():
    problems = live_problems(make(ultravox_webhook_secret="given", provider_mode="sandbox"))
    text = "\n".join(problems)
    assert "ULTRAVOX_API_KEY" in text and "DATA_ENCRYPTION_KEY" in text and "MONGODB_URI" in text
    assert "ULTRAVOX_WEBHOOK_SECRET" not in text
    assert live_problems(make(**LIVE)) == []


def test_every_variable_is_documented_in_env_example_and_the_readme():
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    example = (root / ".env.example").read_text()
    readme = (root / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"\n{name.upper()}=" in example, name
        assert f"`{name.upper()}`" in readme, name
