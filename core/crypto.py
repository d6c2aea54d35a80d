"""Candidate PII at rest: Fernet encryption and a keyed hash for lookups."""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging

from cryptography.fernet import Fernet, InvalidToken

from core.config import get_settings

log = logging.getLogger(__name__)

# Stored ciphertext carries a prefix so plaintext written before a key was set still reads.
_PREFIX = "enc:v1:"
# Without a key the lookup hash still needs a stable secret-less salt: it then only hides
# numbers from casual reads, which is what the warning says.
_UNKEYED_SALT = b"voice-screening-console/phone-hash/v1"


class CryptoError(RuntimeError):
    """Stored PII cannot be decrypted (wrong or rotated DATA_ENCRYPTION_KEY)."""


@functools.lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise CryptoError(
            "DATA_ENCRYPTION_KEY is not a valid Fernet key (32 url-safe base64 bytes; "
            "make one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`)."
        ) from exc


@functools.lru_cache(maxsize=1)
def _warn_unencrypted() -> None:
    log.warning("DATA_ENCRYPTION_KEY is not set: candidate phone numbers and emails are "
                "stored unencrypted.")


def _key() -> str | None:
    secret = get_settings().data_encryption_key
    return secret.get_secret_value() if secret else None


def encryption_enabled() -> bool:
    """True when PII is encrypted at rest."""
    return _key() is not None


def encrypt(value: str | None) -> str | None:
    """Encrypt a PII string for storage (unchanged, with a one-time warning, without a key)."""
    if value in (None, ""):
        return value
    key = _key()
    if key is None:
        _warn_unencrypted()
        return value
    return _PREFIX + _fernet(key).encrypt(value.encode()).decode()


def decrypt(value: str | None) -> str | None:
    """Read back a stored PII string (plaintext values pass through)."""
    if not value or not value.startswith(_PREFIX):
        return value
    key = _key()
    if key is None:
        raise CryptoError("Stored candidate data is encrypted but DATA_ENCRYPTION_KEY is not set.")
    try:
        return _fernet(key).decrypt(value[len(_PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise CryptoError("Stored candidate data cannot be decrypted with this "
                          "DATA_ENCRYPTION_KEY (was the key changed?).") from exc


def phone_hash(e164: str) -> str:
    """Keyed HMAC-SHA256 of an E.164 number: finds and de-duplicates without decrypting."""
    key = _key()
    # Derive a separate MAC key so the encryption key itself never keys a public-ish hash.
    mac_key = hashlib.sha256(b"phone-hash:" + key.encode()).digest() if key else _UNKEYED_SALT
    return hmac.new(mac_key, e164.encode(), hashlib.sha256).hexdigest()


def mask_phone(e164: str | None) -> str:
    """A number with all but the last four digits hidden, for logs and lists."""
    if not e164:
        return ""
    return f"{e164[:2]}…{e164[-4:]}" if len(e164) > 6 else "…"
