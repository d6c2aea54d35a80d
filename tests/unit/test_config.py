"""Settings validation."""

import pytest
from pydantic import ValidationError

from core.config import Settings, describe_error

LIVE = {
    "ultravox_api_key": "abcdefgh.abcdefghabcdefghabcdefghabcdefgh",
    "ultravox_webhook_secret": "s3cret",
    "twilio_account_sid": "AC" + "1" * 32,
    "twilio_auth_token": "token",
    "twilio_from_number": "+14155550100",
    "public_base_url": "https://hooks.example.com/",
    "data_encryption_key": "x3V8W5cM6M0kzQ5n1p3Zb2m9L1vZ4cXyqY3m8JQyH1A=",
    "auth_cookie_key": "k" * 48,
    "mongodb_uri": "mongodb://db.example.net:27017/?replicaSet=rs0",
    "lookup_hash_key": "l" * 40,
    "recording_url_key": "r" * 40,
    "tool_auth_key": "t" * 40,
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only what each test passes counts: other tests (the e2e stack) export settings.
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def make(**kwargs) -> Settings:
    return Settings(_env_file=None, **kwargs)


def test_defaults_to_sandbox_without_credentials():
    s = make()
    assert s.provider_mode == "sandbox" and s.is_sandbox
    assert s.effective_mongodb_uri == "mongodb://127.0.0.1:27018"
    assert s.mongodb_db == "voice_screening"
    assert (s.dashboard_port, s.webhook_port, s.sandbox_port) == (8501, 8001, 8002)


def test_live_when_every_credential_is_set():
    s = make(**LIVE)
    assert s.provider_mode == "live"
    assert s.public_base_url == "https://hooks.example.com"
    assert s.ultravox_url == "https://api.ultravox.ai"


def test_live_needs_https_public_url():
    with pytest.raises(ValidationError) as err:
        make(**{**LIVE, "public_base_url": "http://hooks.example.com"})
    assert "https" in describe_error(err.value)


def test_live_mode_names_the_missing_variables():
    with pytest.raises(ValidationError) as err:
        make(provider_mode="live", ultravox_api_key="k")
    text = describe_error(err.value)
    assert "TWILIO_AUTH_TOKEN" in text and "PUBLIC_BASE_URL" in text


def test_bad_port_is_refused_with_the_variable_name():
    with pytest.raises(ValidationError) as err:
        make(dashboard_port=70000)
    assert "DASHBOARD_PORT" in describe_error(err.value)


def test_secrets_do_not_show_in_repr():
    s = make(**LIVE)
    assert "s3cret" not in repr(s) and "token" not in repr(s.twilio_auth_token)


def test_the_example_env_file_loads_as_is(monkeypatch):
    from pathlib import Path

    for key in ("PROVIDER_MODE", "MONGODB_URI", "MONGODB_DB"):
        monkeypatch.delenv(key, raising=False)
    example = Path(__file__).resolve().parents[2] / ".env.example"
    s = Settings(_env_file=example)
    assert s.provider_mode == "sandbox" and s.mongodb_uri is None
    assert s.dashboard_port == 8501 and s.telephony_rates_per_minute == {}
