"""Personal data at rest: rotation with several keys, lookup hashes that survive a rotation,
name-search tokens, and the settings that fail closed."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from core import crypto
from core.config import Settings, describe_error, get_settings

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
LOOKUP = "lookup-key-" + "x" * 40


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch):
    """Set the encryption keys (and a fixed lookup key) for this process's settings."""
    monkeypatch.setenv("ENV_FILE", "")
    monkeypatch.setenv("PROVIDER_MODE", "sandbox")
    monkeypatch.setenv("LOOKUP_HASH_KEY", LOOKUP)

    def use(current: str | None, *old: str) -> None:
        for name, value in (("DATA_ENCRYPTION_KEY", current), ("DATA_ENCRYPTION_OLD_KEYS", ",".join(old))):
            if value:
                monkeypatch.setenv(name, value)
            else:
                monkeypatch.delenv(name, raising=False)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_a_rotated_key_still_reads_and_reencrypt_moves_to_the_new_key(keys) -> None:
    keys(KEY_A)
    written = crypto.encrypt("Alex Morgan")
    assert written.startswith(f"enc:v2:{crypto.key_id(KEY_A)}:") and "Alex" not in written
    keys(KEY_B, KEY_A)  # rotated: B encrypts, A still decrypts
    assert crypto.decrypt(written) == "Alex Morgan"
    assert not crypto.is_current(written)
    moved = crypto.reencrypt(written)
    assert crypto.is_current(moved) and moved.startswith(f"enc:v2:{crypto.key_id(KEY_B)}:")
    keys(KEY_B)  # the old key removed once everything moved
    assert crypto.decrypt(moved) == "Alex Morgan"
    with pytest.raises(crypto.CryptoError, match="DATA_ENCRYPTION_OLD_KEYS"):
        crypto.decrypt(written)


def test_values_from_before_rotation_support_and_plaintext_still_read(keys) -> None:
    keys(KEY_A)
    legacy = "enc:v1:" + Fernet(KEY_A.encode()).encrypt(b"+14155550100").decode()
    keys(KEY_B, KEY_A)
    assert crypto.decrypt(legacy) == "+14155550100" and not crypto.is_current(legacy)
    assert crypto.decrypt("plain text") == "plain text" and not crypto.is_current("plain text")
    assert crypto.is_current(crypto.reencrypt("plain text"))
    once = crypto.encrypt("x")
    assert crypto.encrypt(once) == once  # storing what was read back never double-encrypts


def test_lookup_hashes_do_not_change_with_the_encryption_key(keys) -> None:
    keys(KEY_A)
    before = crypto.phone_hash("+14155550100")
    keys(KEY_B, KEY_A)
    assert crypto.phone_hash("+14155550100") == before
    assert before == hmac.new(LOOKUP.encode(), b"phone:+14155550100", hashlib.sha256).hexdigest()
    # The old derivation (from the encryption key) is still matched until `reencrypt` runs.
    old = hmac.new(hashlib.sha256(b"phone-hash:" + KEY_A.encode()).digest(), b"+14155550100",
                   hashlib.sha256).hexdigest()
    assert crypto.phone_hashes("+14155550100")[0] == before and old in crypto.phone_hashes("+14155550100")


def test_name_search_tokens_match_word_prefixes_of_three_letters(keys) -> None:
    keys(None)
    stored = set(crypto.name_tokens("Alex Morgan-Ó Briain"))
    for typed in ("mor", "Morgan", "alex morg", "ALEX", "o bri", "brIAIN"):
        assert set(crypto.name_query_tokens(typed)) <= stored, typed
    for typed in ("mo", "morgans", "lex", "a.*", "alex smith"):
        assert not set(crypto.name_query_tokens(typed)) <= stored, typed
    assert crypto.name_words("Seán O'Brien") == ["sean", "obrien"]
    assert all(len(t) == 20 for t in stored) and "mor" not in str(stored)


def test_settings_refuse_bad_keys_and_need_lookup_and_recording_keys_in_live(monkeypatch) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, data_encryption_key="not-a-key")
    assert "DATA_ENCRYPTION_KEY" in describe_error(err.value) and "Fernet" in describe_error(err.value)
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, data_encryption_old_keys=KEY_A)
    assert "DATA_ENCRYPTION_OLD_KEYS is set but DATA_ENCRYPTION_KEY is not" in describe_error(err.value)
    live = {"ultravox_api_key": "k", "ultravox_webhook_secret": "s", "twilio_account_sid": "AC" + "1" * 32,
            "twilio_auth_token": "t", "twilio_from_number": "+14155550100",
            "public_base_url": "https://hooks.example.com", "data_encryption_key": KEY_A,
            "auth_cookie_key": "c" * 40, "mongodb_uri": "mongodb://db.example.net/?replicaSet=rs0",
            "tool_auth_key": "t" * 40}
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, **live)
    message = describe_error(err.value)
    assert "LOOKUP_HASH_KEY" in message and "secrets.token_urlsafe" in message
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, **live, lookup_hash_key="l" * 40)
    assert "RECORDING_URL_KEY" in describe_error(err.value)
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None, **live, lookup_hash_key="short", recording_url_key="r" * 40)
    assert "LOOKUP_HASH_KEY must be at least 32 characters" in describe_error(err.value)
    both = Settings(_env_file=None, lookup_hash_key="l" * 40, recording_url_key="r" * 40,
                    **{**live, "data_encryption_key": KEY_B}, data_encryption_old_keys=f"{KEY_A}, ")
    assert both.encryption_keys == [KEY_B, KEY_A] and both.lookup_secret == b"l" * 40


def test_sandbox_generates_the_hash_and_link_keys_once_into_the_secrets_file(monkeypatch, tmp_path) -> None:
    path = tmp_path / "sandbox-secrets.json"
    sandbox = Settings(_env_file=None, provider_mode="sandbox", sandbox_secrets_file=str(path))
    first = sandbox.recording_url_secret
    assert len(first) >= 32 and sandbox.lookup_secret != first
    again = Settings(_env_file=None, provider_mode="sandbox", sandbox_secrets_file=str(path))
    assert again.recording_url_secret == first  # the same per installation, not per start
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
