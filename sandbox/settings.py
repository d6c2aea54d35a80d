"""What the sandbox accepts and where it sends webhooks, read from the environment on its own.

The sandbox stands in for Ultravox and Twilio, which know nothing of our code: it reads the
same variables (and `.env`) as the app does, but never imports the app's settings, so a
mistake in them cannot make both sides agree by accident.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dotenv import dotenv_values

# The credentials the simulator accepts when none are configured (they open nothing real).
DEFAULT_ULTRAVOX_API_KEY = "sandbox0.sandboxsandboxsandboxsandboxsandbox0"
DEFAULT_ULTRAVOX_WEBHOOK_SECRET = "sandbox-ultravox-webhook-secret"
DEFAULT_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
DEFAULT_TWILIO_AUTH_TOKEN = "sandbox-twilio-auth-token-000000"
DEFAULT_TWILIO_FROM_NUMBER = "+15005550006"


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


def sandbox_values(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The SandboxConfig fields and the port, from the environment."""
    env = environment() if env is None else env
    webhook_port = int(_get(env, "WEBHOOK_PORT", "8001"))
    public = _get(env, "PUBLIC_BASE_URL", "").rstrip("/")
    return {
        "ultravox_api_key": _get(env, "ULTRAVOX_API_KEY", DEFAULT_ULTRAVOX_API_KEY),
        "ultravox_webhook_secret": _get(env, "ULTRAVOX_WEBHOOK_SECRET",
                                        DEFAULT_ULTRAVOX_WEBHOOK_SECRET),
        "twilio_account_sid": _get(env, "TWILIO_ACCOUNT_SID", DEFAULT_TWILIO_ACCOUNT_SID),
        "twilio_auth_token": _get(env, "TWILIO_AUTH_TOKEN", DEFAULT_TWILIO_AUTH_TOKEN),
        "twilio_from_number": _get(env, "TWILIO_FROM_NUMBER", DEFAULT_TWILIO_FROM_NUMBER),
        "webhook_base_url": public or f"http://127.0.0.1:{webhook_port}",
        "speed": float(_get(env, "SANDBOX_SPEED", "1")),
    }


def sandbox_port(env: Mapping[str, str] | None = None) -> int:
    """Where the sandbox listens (SANDBOX_PORT)."""
    env = environment() if env is None else env
    return int(_get(env, "SANDBOX_PORT", "8002"))
