"""What the sandbox accepts and where it sends webhooks, read from the environment on its own.

The sandbox stands in for Ultravox and Twilio, which know nothing of our code: it reads the
same variables (and `.env`) as the app does, but never imports the app's settings, so a
mistake in them cannot make both sides agree by accident. Credentials not given in the
environment come from the per-installation secrets file (`.data/sandbox-secrets.json`, or
SANDBOX_SECRETS_FILE) that the app's processes read too; whichever side starts first creates
it. Its format is the contract with `core/local_secrets.py`: a JSON object of the keys below.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

DEFAULT_SECRETS_FILE = Path(__file__).resolve().parent.parent / ".data" / "sandbox-secrets.json"
# Environment variable -> SandboxConfig field, for every credential the file can provide.
_CREDENTIALS = (
    ("ULTRAVOX_API_KEY", "ultravox_api_key"),
    ("ULTRAVOX_WEBHOOK_SECRET", "ultravox_webhook_secret"),
    ("TWILIO_ACCOUNT_SID", "twilio_account_sid"),
    ("TWILIO_AUTH_TOKEN", "twilio_auth_token"),
    ("TWILIO_FROM_NUMBER", "twilio_from_number"),
)
_FILE_KEYS = (*(name for name, _ in _CREDENTIALS), "AUTH_COOKIE_KEY", "LOOKUP_HASH_KEY",
              "RECORDING_URL_KEY", "TOOL_AUTH_KEY")


def environment() -> dict[str, str]:
    """The process environment over `.env` (ENV_FILE="" disables the file, as for the app)."""
    env_file = os.environ.get("ENV_FILE", ".env")
    values: dict[str, str] = {}
    if env_file and os.path.isfile(env_file):
        values.update({k.upper(): v for k, v in dotenv_values(env_file).items() if v})
    values.update({k.upper(): v for k, v in os.environ.items() if v})
    return values


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    value = (env.get(name) or "").strip()
    return value or default


def _generate() -> dict[str, str]:
    return {
        "ULTRAVOX_API_KEY": f"{secrets.token_hex(4)}.{secrets.token_urlsafe(24)}",
        "ULTRAVOX_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "TWILIO_FROM_NUMBER": "+1500555" + f"{secrets.randbelow(10_000):04d}",
        "AUTH_COOKIE_KEY": secrets.token_urlsafe(48),
        "LOOKUP_HASH_KEY": secrets.token_urlsafe(48),
        "RECORDING_URL_KEY": secrets.token_urlsafe(48),
        "TOOL_AUTH_KEY": secrets.token_urlsafe(48),
    }


def generated_secrets(path: Path) -> dict[str, str]:
    """The per-installation secrets, creating the file (0600, first writer wins) if absent."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".secrets-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(_generate(), fh, indent=2)
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another process created it first
                os.link(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    values = json.loads(path.read_text(encoding="utf-8"))
    # Only what the sandbox itself uses must be there (the app adds keys introduced later).
    missing = [name for name, _ in _CREDENTIALS if not values.get(name)]
    if missing:
        raise SystemExit(f"{path} lacks {', '.join(missing)}: delete it to generate a new set.")
    return values


def secrets_file(env: Mapping[str, str]) -> Path:
    """Where the generated secrets live (SANDBOX_SECRETS_FILE, else .data/sandbox-secrets.json)."""
    configured = _get(env, "SANDBOX_SECRETS_FILE", "")
    return Path(configured).expanduser() if configured else DEFAULT_SECRETS_FILE


def sandbox_values(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The SandboxConfig fields and the port, from the environment and the secrets file."""
    env = environment() if env is None else env
    webhook_port = int(_get(env, "WEBHOOK_PORT", "8001"))
    public = _get(env, "PUBLIC_BASE_URL", "").rstrip("/")
    given = {field: _get(env, name, "") for name, field in _CREDENTIALS}
    if not all(given.values()):
        generated = generated_secrets(secrets_file(env))
        given = {field: given[field] or generated[name] for name, field in _CREDENTIALS}
    return {
        **given,
        "webhook_base_url": public or f"http://127.0.0.1:{webhook_port}",
        "speed": float(_get(env, "SANDBOX_SPEED", "1")),
    }


def sandbox_port(env: Mapping[str, str] | None = None) -> int:
    """Where the sandbox listens (SANDBOX_PORT)."""
    env = environment() if env is None else env
    return int(_get(env, "SANDBOX_PORT", "8002"))
