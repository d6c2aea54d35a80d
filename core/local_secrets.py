"""Sandbox-mode secrets generated once per installation into `.data/` (never from source code).

In sandbox mode every credential and secret not given in the environment comes from one JSON
file (default `.data/sandbox-secrets.json`, mode 0600), created on first use. The app's
processes and the sandbox read the same file, so the simulator accepts and signs with exactly
what the app uses. The sandbox imports nothing of ours, so `sandbox/settings.py` carries its own
copy of this small create-or-read routine; the file format below is the contract between them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / ".data" / "sandbox-secrets.json"

# The variables the file provides when the environment does not (the file's keys).
GENERATED = (
    "ULTRAVOX_API_KEY",
    "ULTRAVOX_WEBHOOK_SECRET",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_FROM_NUMBER",
    "AUTH_COOKIE_KEY",
    "LOOKUP_HASH_KEY",
    "RECORDING_URL_KEY",
    "TOOL_AUTH_KEY",
)


class SecretsFileError(RuntimeError):
    """The generated-secrets file cannot be read or written; the message says how to fix it."""


def generate() -> dict[str, str]:
    """A fresh set of sandbox credentials in the providers' formats (random, per installation)."""
    return {
        # Ultravox keys look like `<8 chars>.<32 chars>`; Twilio SIDs are AC + 32 hex digits.
        "ULTRAVOX_API_KEY": f"{secrets.token_hex(4)}.{secrets.token_urlsafe(24)}",
        "ULTRAVOX_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        # Twilio's test-number range (+1 500 555 …): the sandbox's caller ID, never a real line.
        "TWILIO_FROM_NUMBER": "+1500555" + f"{secrets.randbelow(10_000):04d}",
        "AUTH_COOKIE_KEY": secrets.token_urlsafe(48),
        "LOOKUP_HASH_KEY": secrets.token_urlsafe(48),
        "RECORDING_URL_KEY": secrets.token_urlsafe(48),
        "TOOL_AUTH_KEY": secrets.token_urlsafe(48),
    }


def resolve_path(configured: str | None) -> Path:
    """The secrets file: SANDBOX_SECRETS_FILE if set, else `.data/sandbox-secrets.json`."""
    return Path(configured).expanduser() if configured else DEFAULT_PATH


def load_or_create(path: Path) -> dict[str, str]:
    """The generated secrets, creating the file atomically (mode 0600) when it does not exist."""
    if not path.exists():
        _create(path, generate())
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SecretsFileError(
            f"{path} cannot be read ({type(exc).__name__}); delete it and a new set of sandbox "
            "secrets is generated at the next start."
        ) from exc
    missing = [k for k in GENERATED if not isinstance(values.get(k), str) or not values[k]]
    if missing and set(missing) <= set(_ADDED_LATER):
        values = _add_missing(path)
        missing = [k for k in GENERATED if not isinstance(values.get(k), str) or not values[k]]
    if missing:
        raise SecretsFileError(
            f"{path} lacks {', '.join(missing)}; delete it and a new set of sandbox secrets is "
            "generated at the next start."
        )
    return {k: values[k] for k in GENERATED}


# Keys added after installations already had a file: added to it once, the others kept as
# they are (the lookup-hash key must never change under stored data).
_ADDED_LATER = ("TOOL_AUTH_KEY",)
_LOCK_WAIT_SECONDS = 5.0


def _add_missing(path: Path) -> dict[str, Any]:
    """Add the keys an older file lacks, under a lock file so every process reads one value."""
    lock = path.with_name(path.name + ".lock")
    deadline = time.monotonic() + _LOCK_WAIT_SECONDS
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            break
        except FileExistsError:
            if time.monotonic() > deadline:
                raise SecretsFileError(f"{lock} is held by another process; if none is running, "
                                       "delete it.") from None
            time.sleep(0.05)
        except OSError as exc:
            raise SecretsFileError(f"cannot update {path} ({exc.strerror}).") from exc
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
        fresh = generate()
        for key in _ADDED_LATER:
            if not isinstance(values.get(key), str) or not values[key]:
                values[key] = fresh[key]
        tmp_fd, tmp = tempfile.mkstemp(prefix=".secrets-", dir=path.parent)  # created 0600
        with os.fdopen(tmp_fd, "w", encoding="utf-8") as fh:
            json.dump(values, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return values
    except (OSError, ValueError) as exc:
        raise SecretsFileError(f"cannot update {path} ({type(exc).__name__}).") from exc
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(lock)


def _create(path: Path, values: dict[str, str]) -> None:
    """Write `values` to `path` unless another process got there first (first writer wins)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".secrets-", dir=path.parent)  # created 0600
    except OSError as exc:
        raise SecretsFileError(
            f"cannot create {path} ({exc.strerror}); make its folder writable or set "
            "SANDBOX_SECRETS_FILE to a writable path."
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(values, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        # link() fails when the file exists: every process that races here ends up reading
        # the one complete file that won, never a half-written one.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
