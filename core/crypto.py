"""Personal data at rest: Fernet encryption with key rotation, and keyed hashes for lookups.

Ciphertext is stored as `enc:v2:<key id>:<Fernet token>`: the key id says which key wrote it,
so the re-encryption command finds what an old key wrote without decrypting everything.
Values written before rotation support (`enc:v1:<token>`) and plaintext written before a key
was set still read. DATA_ENCRYPTION_KEY encrypts; it and DATA_ENCRYPTION_OLD_KEYS decrypt.

Lookups never use the encryption key: the phone hash and the name-search tokens are keyed
HMACs under LOOKUP_HASH_KEY, which is never rotated, so a rotation breaks no duplicate check,
do-not-call look-up or search. Hashes written by the old derivation (from the encryption key)
are still matched (`phone_hashes`) until `reencrypt` has recomputed them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.config import get_settings

log = logging.getLogger(__name__)

_PREFIX = "enc:v2:"
_LEGACY_PREFIX = "enc:v1:"
# Hashes written before LOOKUP_HASH_KEY existed: keyed from the encryption key, or this salt.
_UNKEYED_SALT = b"voice-screening-console/phone-hash/v1"
# Name search: keyed hashes of every prefix (3+ letters) of each normalised word of the name.
NAME_PREFIX_MIN = 3
_NAME_TOKEN_MAX = 32  # longer words are indexed (and searched) by their first 32 letters
_NAME_WORDS_MAX = 12
_TOKEN_HEX = 20  # 80 bits of each HMAC: no collisions among names, less to store


class CryptoError(RuntimeError):
    """Stored personal data cannot be decrypted (a key is missing or wrong)."""


# -- keys ------------------------------------------------------------------------------------


def key_id(key: str) -> str:
    """A short public fingerprint of a Fernet key (which key wrote a value)."""
    return hmac.new(key.encode(), b"voice-screening-console/key-id", hashlib.sha256).hexdigest()[:10]


@functools.lru_cache(maxsize=8)
def _fernets(keys: tuple[str, ...]) -> tuple[MultiFernet, dict[str, Fernet]]:
    singles = [Fernet(k.encode()) for k in keys]
    return MultiFernet(singles), {key_id(k): f for k, f in zip(keys, singles, strict=True)}


def _keys() -> tuple[str, ...]:
    return tuple(get_settings().encryption_keys)


def encryption_enabled() -> bool:
    """True when personal data is encrypted at rest (DATA_ENCRYPTION_KEY is set)."""
    return bool(_keys())


def current_key_id() -> str | None:
    """The id of the key that encrypts now (None: encryption is off)."""
    keys = _keys()
    return key_id(keys[0]) if keys else None


@functools.lru_cache(maxsize=1)
def _warn_unencrypted() -> None:
    log.warning("DATA_ENCRYPTION_KEY is not set: candidate personal data, transcripts and "
                "summaries are stored unencrypted.")


# -- values ----------------------------------------------------------------------------------


def is_encrypted(value: Any) -> bool:
    """True for a stored ciphertext string (any version)."""
    return isinstance(value, str) and value.startswith((_PREFIX, _LEGACY_PREFIX))


def encrypt(value: str | None) -> str | None:
    """Encrypt a string for storage with the current key (unchanged, with a warning, without one).

    An already encrypted value is returned as it is, so storing what was read back stays safe.
    """
    if value in (None, "") or is_encrypted(value):
        return value
    keys = _keys()
    if not keys:
        _warn_unencrypted()
        return value
    primary = _fernets(keys)[1][key_id(keys[0])]
    return f"{_PREFIX}{key_id(keys[0])}:{primary.encrypt(value.encode()).decode()}"


def decrypt(value: str | None) -> str | None:
    """Read back a stored string (plaintext passes through); CryptoError when no key opens it."""
    if not is_encrypted(value):
        return value
    keys = _keys()
    if not keys:
        raise CryptoError("Stored personal data is encrypted but DATA_ENCRYPTION_KEY is not set.")
    multi, by_id = _fernets(keys)
    token = value[len(_LEGACY_PREFIX):]
    if value.startswith(_PREFIX):
        kid, _, token = value[len(_PREFIX):].partition(":")
        single = by_id.get(kid)
        if single is None:
            raise CryptoError("Stored personal data was encrypted with a key that is neither "
                              "DATA_ENCRYPTION_KEY nor in DATA_ENCRYPTION_OLD_KEYS (key id "
                              f"{kid}); add that key to DATA_ENCRYPTION_OLD_KEYS.")
        try:
            return single.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise CryptoError("Stored personal data cannot be decrypted (damaged value).") from exc
    try:
        return multi.decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise CryptoError("Stored personal data cannot be decrypted with DATA_ENCRYPTION_KEY or "
                          "DATA_ENCRYPTION_OLD_KEYS (was a key removed too early?).") from exc


def is_current(value: Any) -> bool:
    """True when a stored string needs no re-encryption (written by the current key, or empty;
    plaintext counts as current only while encryption is off)."""
    if not isinstance(value, str) or value == "":
        return True
    kid = current_key_id()
    if kid is None:
        return not is_encrypted(value)
    return value.startswith(f"{_PREFIX}{kid}:")


def reencrypt(value: str | None) -> str | None:
    """The value encrypted with the current key (plaintext gets encrypted when a key is set)."""
    if is_current(value):
        return value
    return encrypt(decrypt(value))


def current_prefix() -> str | None:
    """What every value written by the current key starts with (None: encryption is off)."""
    kid = current_key_id()
    return None if kid is None else f"{_PREFIX}{kid}:"


def encrypt_fields(doc: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """A copy of `doc` with the named string fields encrypted (for store writes)."""
    out = dict(doc)
    for name in names:
        if isinstance(out.get(name), str):
            out[name] = encrypt(out[name])
    return out


def encrypt_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Transcript messages with their words encrypted (speaker and timing stay readable)."""
    return [encrypt_fields(m, ("text",)) for m in messages]


# Summaries the providers send, as the call document and the stored webhook keep them.
CALL_TEXT_FIELDS = ("summary", "short_summary")
EVENT_TEXT_FIELDS = ("summary", "shortSummary")


def encrypt_event(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored webhook event with the summaries in its Ultravox call payload encrypted."""
    call = (doc.get("payload") or {}).get("call")
    if not isinstance(call, dict) or not any(isinstance(call.get(f), str) for f in EVENT_TEXT_FIELDS):
        return doc
    return {**doc, "payload": {**doc["payload"], "call": encrypt_fields(call, EVENT_TEXT_FIELDS)}}


# -- lookup hashes -----------------------------------------------------------------------------


def _lookup_key() -> bytes:
    return get_settings().lookup_secret


def lookup_key_id() -> str:
    """Fingerprint of LOOKUP_HASH_KEY, stored with each candidate's hashes (`lookup_kid`)."""
    return hmac.new(_lookup_key(), b"voice-screening-console/lookup-id", hashlib.sha256).hexdigest()[:10]


def phone_hash(e164: str) -> str:
    """Keyed HMAC-SHA256 of an E.164 number under LOOKUP_HASH_KEY: finds and de-duplicates."""
    return hmac.new(_lookup_key(), b"phone:" + e164.encode(), hashlib.sha256).hexdigest()


def legacy_phone_hashes(e164: str) -> list[str]:
    """The hashes the old derivation wrote for this number (one per configured key, and keyless)."""
    mac_keys = [hashlib.sha256(b"phone-hash:" + k.encode()).digest() for k in _keys()]
    mac_keys.append(_UNKEYED_SALT)
    return [hmac.new(k, e164.encode(), hashlib.sha256).hexdigest() for k in mac_keys]


def phone_hashes(e164: str) -> list[str]:
    """Every hash a stored candidate with this number may carry: the current one first."""
    return list(dict.fromkeys([phone_hash(e164), *legacy_phone_hashes(e164)]))


def name_words(text: str) -> list[str]:
    """The normalised words of a name: accents dropped, case folded, apostrophes removed."""
    plain = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    plain = re.sub(r"['’`´]", "", plain)
    words = [w for w in re.split(r"[\W_]+", plain) if w]
    return [w[:_NAME_TOKEN_MAX] for w in words[:_NAME_WORDS_MAX]]


def _token(text: str) -> str:
    return hmac.new(_lookup_key(), b"name:" + text.encode(), hashlib.sha256).hexdigest()[:_TOKEN_HEX]


def name_tokens(name: str) -> list[str]:
    """What a candidate's name is searchable by: a keyed hash of each prefix of 3 or more
    letters of each word (a shorter word: the whole word)."""
    out: list[str] = []
    for word in name_words(name):
        if len(word) < NAME_PREFIX_MIN:
            out.append(_token(word))
        else:
            out.extend(_token(word[:n]) for n in range(NAME_PREFIX_MIN, len(word) + 1))
    return sorted(set(out))


def name_query_tokens(text: str) -> list[str]:
    """The tokens a name search must all match: each typed word as a prefix (3+ letters)."""
    return sorted({_token(w) for w in name_words(text)})


def mask_phone(e164: str | None) -> str:
    """A number with all but the last four digits hidden, for logs and lists."""
    if not e164:
        return ""
    return f"{e164[:2]}…{e164[-4:]}" if len(e164) > 6 else "…"
