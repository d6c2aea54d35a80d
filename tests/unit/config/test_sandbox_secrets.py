"""Sandbox secrets: given ones are used, the others generated once per installation into a file
that the app and the sandbox share; none comes from the source code."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from core import local_secrets
from core.config import ConfigError, Settings, describe_error
from sandbox.settings import sandbox_values

ROOT = Path(__file__).resolve().parents[3]
# What the source code used to hand out when nothing was configured.
OLD_HARD_CODED = ["sandbox0.sandboxsandboxsandboxsandboxsandbox0", "sandbox-ultravox-webhook-secret",
                  "sandbox-twilio-auth-token-000000", "AC" + "0" * 32]


@pytest.fixture
def secrets_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    path = tmp_path / "data" / "sandbox-secrets.json"
    monkeypatch.setenv("SANDBOX_SECRETS_FILE", str(path))
    return path


def in_force(settings: Settings) -> dict[str, str]:
    return {"ULTRAVOX_API_KEY": settings.ultravox_key, "ULTRAVOX_WEBHOOK_SECRET": settings.ultravox_secret,
            "TWILIO_ACCOUNT_SID": settings.twilio_sid, "TWILIO_AUTH_TOKEN": settings.twilio_token,
            "TWILIO_FROM_NUMBER": settings.twilio_from, "AUTH_COOKIE_KEY": settings.cookie_key,
            "LOOKUP_HASH_KEY": settings.lookup_secret.decode(),
            "RECORDING_URL_KEY": settings.recording_url_secret.decode(),
            "TOOL_AUTH_KEY": settings.tool_secret.decode()}


def test_missing_secrets_are_generated_once_into_a_private_file(secrets_file):
    first = in_force(Settings(_env_file=None))
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert json.loads(secrets_file.read_text()) == first
    assert in_force(Settings(_env_file=None)) == first  # read back, not generated again
    assert not set(first.values()) & set(OLD_HARD_CODED)
    assert first["TWILIO_ACCOUNT_SID"].startswith("AC") and len(first["TWILIO_ACCOUNT_SID"]) == 34
    assert len(first["AUTH_COOKIE_KEY"]) >= 32


def test_each_installation_gets_its_own_secrets(tmp_path):
    one = local_secrets.load_or_create(tmp_path / "a.json")
    two = local_secrets.load_or_create(tmp_path / "b.json")
    assert all(one[k] != two[k] for k in local_secrets.GENERATED if k != "TWILIO_FROM_NUMBER")


def test_given_values_win_and_are_not_written(secrets_file, monkeypatch):
    monkeypatch.setenv("ULTRAVOX_WEBHOOK_SECRET", "given-webhook-secret")
    monkeypatch.setenv("AUTH_COOKIE_KEY", "given-cookie-key-" + "x" * 32)
    s = Settings(_env_file=None)
    in_force(s)  # every value read: the missing ones are generated
    assert s.ultravox_secret == "given-webhook-secret"
    assert s.cookie_key.startswith("given-cookie-key-")
    assert "given" not in secrets_file.read_text()


def test_the_app_and_the_sandbox_use_the_same_generated_credentials(secrets_file, monkeypatch):
    monkeypatch.setenv("PROVIDER_MODE", "sandbox")  # one credential given: sandbox on purpose
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "given-twilio-token")
    app = in_force(Settings(_env_file=None))
    sandbox = sandbox_values({"SANDBOX_SECRETS_FILE": str(secrets_file),
                              "TWILIO_AUTH_TOKEN": "given-twilio-token"})
    assert sandbox["ultravox_api_key"] == app["ULTRAVOX_API_KEY"]
    assert sandbox["ultravox_webhook_secret"] == app["ULTRAVOX_WEBHOOK_SECRET"]
    assert sandbox["twilio_account_sid"] == app["TWILIO_ACCOUNT_SID"]
    assert sandbox["twilio_auth_token"] == app["TWILIO_AUTH_TOKEN"] == "given-twilio-token"
    assert sandbox["twilio_from_number"] == app["TWILIO_FROM_NUMBER"]


def test_whichever_side_starts_first_creates_the_file(secrets_file):
    sandbox = sandbox_values({"SANDBOX_SECRETS_FILE": str(secrets_file)})  # the sandbox first
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert Settings(_env_file=None).ultravox_secret == sandbox["ultravox_webhook_secret"]


def test_a_damaged_file_stops_the_start_and_says_what_to_do(secrets_file):
    secrets_file.parent.mkdir(parents=True)
    secrets_file.write_text("{not json")
    with pytest.raises(ConfigError) as err:
        Settings(_env_file=None).generated_secrets()
    assert str(secrets_file) in str(err.value) and "delete it" in str(err.value)


def test_live_mode_never_reads_the_file(secrets_file):
    from tests.unit.config.test_fail_closed import LIVE

    s = Settings(_env_file=None, **LIVE)
    assert s.ultravox_secret == LIVE["ultravox_webhook_secret"] and s.cookie_key == LIVE["auth_cookie_key"]
    assert not secrets_file.exists()


def test_no_credential_or_secret_is_in_the_source_any_more():
    sources = [*ROOT.joinpath("core").rglob("*.py"), *ROOT.joinpath("sandbox").rglob("*.py")]
    text = "\n".join(p.read_text() for p in sources)
    for value in OLD_HARD_CODED:
        assert value not in text


def test_refusals_read_as_one_plain_line(secrets_file):
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, ultravox_api_key="k")
    text = describe_error(err.value)
    assert text.startswith("PROVIDER_MODE is unset") and "Value error" not in text


def test_an_older_file_gets_the_keys_added_later_and_keeps_the_others(tmp_path):
    path = tmp_path / "old.json"
    old = local_secrets.generate()
    del old["TOOL_AUTH_KEY"]
    path.write_text(json.dumps(old))
    values = local_secrets.load_or_create(path)
    assert {k: values[k] for k in old} == old and len(values["TOOL_AUTH_KEY"]) >= 32
    assert local_secrets.load_or_create(path) == values  # added once
    assert not (tmp_path / "old.json.lock").exists()
