"""Settings from the environment and `.env`, validated once per process."""

from __future__ import annotations

import functools
import ipaddress
import os
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Fixed sandbox credentials: the sandbox accepts exactly these when the real ones are unset.
# They are not secrets: they only open a local simulator.
SANDBOX_ULTRAVOX_API_KEY = "sandbox0.sandboxsandboxsandboxsandboxsandbox0"
SANDBOX_TWILIO_ACCOUNT_SID = "AC" + "0" * 32
SANDBOX_TWILIO_AUTH_TOKEN = "sandbox-twilio-auth-token-000000"
SANDBOX_TWILIO_FROM_NUMBER = "+15005550006"


class ConfigError(ValueError):
    """A setting is missing or invalid; the message says which and how to fix it."""


class Settings(BaseSettings):
    """Every variable of the Contract plus a few tuning knobs, all with safe defaults."""

    # Empty values count as unset, so a copied .env.example with blanks works as is.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, env_ignore_empty=True
    )

    provider_mode: Literal["live", "sandbox"] | None = None
    mongodb_uri: str | None = None
    mongodb_db: str = "voice_screening"

    ultravox_api_key: SecretStr | None = None
    ultravox_base_url: str = "https://api.ultravox.ai"
    ultravox_webhook_secret: SecretStr | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from_number: str | None = None

    public_base_url: str | None = None
    data_encryption_key: SecretStr | None = None

    admin_username: str | None = None
    admin_password: SecretStr | None = None
    auth_cookie_key: SecretStr | None = None

    dashboard_port: int = Field(8501, ge=1, le=65535)
    webhook_port: int = Field(8001, ge=1, le=65535)
    sandbox_port: int = Field(8002, ge=1, le=65535)
    embedded_db_port: int = Field(27018, ge=1, le=65535)

    # Tuning knobs (documented in .env.example).
    default_phone_region: str = Field("US", min_length=2, max_length=2)
    sandbox_speed: float = Field(1.0, gt=0, le=1000)
    webhook_max_age_seconds: int = Field(300, ge=10, le=3600)
    http_timeout_seconds: float = Field(10.0, gt=0, le=120)
    ring_timeout_seconds: int = Field(45, ge=5, le=600)
    ultravox_rate_per_minute: Decimal = Field(Decimal("0.05"), ge=0)
    telephony_rate_per_minute: Decimal = Field(Decimal("0.014"), ge=0)
    retention_days: int = Field(180, ge=1, le=3650)
    worker_interval_seconds: float = Field(2.0, gt=0, le=300)
    log_level: str = "INFO"
    # Provider resilience (core/resilience.py): attempts include the first try; the breaker
    # opens after `threshold` consecutive failed attempts and probes again after the reset time.
    provider_retry_attempts: int = Field(4, ge=1, le=10)
    provider_retry_max_wait_seconds: float = Field(8.0, gt=0, le=120)
    provider_breaker_threshold: int = Field(5, ge=1, le=100)
    provider_breaker_reset_seconds: float = Field(30.0, gt=0, le=3600)
    # Batch dispatch (core/dispatch.py). A worker's run keeps dialling for at most
    # `dispatch_run_seconds`; a picked-but-unclaimed call is leased for `dispatch_lease_seconds`
    # (a killed worker's lease simply expires); a call claimed for dialling that never got an
    # Ultravox id after `dispatch_stale_seconds` is failed, never re-dialled. The rate margin
    # spaces dials slightly wider than 1/calls-per-second so network jitter cannot exceed it.
    dispatch_run_seconds: float = Field(1.0, gt=0, le=60)
    dispatch_lease_seconds: float = Field(30.0, ge=1, le=3600)
    dispatch_stale_seconds: float = Field(120.0, ge=1, le=86400)
    dispatch_failure_window: int = Field(10, ge=2, le=1000)
    dispatch_rate_margin: float = Field(0.02, ge=0, le=1)
    # Costs (core/costs.py). Totals are kept in one currency; the per-country table overrides
    # the flat telephony rate for estimates until Twilio's price arrives, as JSON in the
    # environment, e.g. TELEPHONY_RATES_PER_MINUTE='{"GB": "0.0200", "DE": "0.0250"}'.
    cost_currency: str = Field("USD", min_length=3, max_length=3)
    telephony_rates_per_minute: dict[str, Decimal] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.provider_mode is None:
            self.provider_mode = "live" if self.live_credentials_complete else "sandbox"
        if self.provider_mode == "live":
            missing = [
                name.upper()
                for name in (
                    "ultravox_api_key",
                    "ultravox_webhook_secret",
                    "twilio_account_sid",
                    "twilio_auth_token",
                    "twilio_from_number",
                    "public_base_url",
                )
                if not getattr(self, name)
            ]
            if missing:
                raise ConfigError(f"PROVIDER_MODE=live needs {', '.join(missing)} to be set.")
            if not str(self.public_base_url).startswith("https://"):
                raise ConfigError(
                    "PUBLIC_BASE_URL must be an https:// URL in live mode "
                    "(Twilio and Ultravox only deliver webhooks to public HTTPS addresses)."
                )
        if self.public_base_url:
            self.public_base_url = self.public_base_url.rstrip("/")
        return self

    @property
    def live_credentials_complete(self) -> bool:
        """True when every Ultravox and Twilio credential is set."""
        return all(
            (
                self.ultravox_api_key,
                self.twilio_account_sid,
                self.twilio_auth_token,
                self.twilio_from_number,
            )
        )

    @property
    def is_sandbox(self) -> bool:
        """True when calls go to the local simulator instead of real providers."""
        return self.provider_mode == "sandbox"

    @property
    def effective_mongodb_uri(self) -> str:
        """The URI to connect to: the configured one or the embedded local server."""
        return self.mongodb_uri or f"mongodb://127.0.0.1:{self.embedded_db_port}"

    @property
    def uses_embedded_db(self) -> bool:
        """True when no MONGODB_URI is set and the embedded server is used."""
        return not self.mongodb_uri

    @property
    def sandbox_base_url(self) -> str:
        """Where the sandbox providers listen."""
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def webhook_base_url(self) -> str:
        """The base URL providers send webhooks to (public URL, else the local sidecar)."""
        return self.public_base_url or f"http://127.0.0.1:{self.webhook_port}"

    @property
    def ultravox_url(self) -> str:
        """Ultravox API root: the sandbox in sandbox mode, else the configured base."""
        base = self.sandbox_base_url if self.is_sandbox else self.ultravox_base_url
        return base.rstrip("/")

    @property
    def ultravox_key(self) -> str:
        """The Ultravox API key in force (the fixed sandbox key when unset in sandbox mode)."""
        if self.ultravox_api_key:
            return self.ultravox_api_key.get_secret_value()
        return SANDBOX_ULTRAVOX_API_KEY

    @property
    def ultravox_secret(self) -> str:
        """The secret webhooks from Ultravox are signed with."""
        if self.ultravox_webhook_secret:
            return self.ultravox_webhook_secret.get_secret_value()
        return "sandbox-ultravox-webhook-secret"

    @property
    def twilio_sid(self) -> str:
        """Twilio account SID in force."""
        return self.twilio_account_sid or SANDBOX_TWILIO_ACCOUNT_SID

    @property
    def twilio_token(self) -> str:
        """Twilio auth token in force (signs Twilio webhooks too)."""
        if self.twilio_auth_token:
            return self.twilio_auth_token.get_secret_value()
        return SANDBOX_TWILIO_AUTH_TOKEN

    @property
    def twilio_from(self) -> str:
        """Caller ID for outbound calls."""
        return self.twilio_from_number or SANDBOX_TWILIO_FROM_NUMBER

    # --- Log-in and sessions (issue 13, step 2) ------------------------------------------------
    # A signed-in browser that shows no page for this long lands on the log-in form again: the
    # cookie alone is not enough, the server-side session record must be fresh.
    session_idle_hours: float = Field(8.0, gt=0, le=168)
    # The reverse proxy in front of the dashboard (comma-separated addresses or CIDR ranges).
    # Only a connection from one of these may name the client in X-Forwarded-For; from anyone
    # else the header is ignored, so a client cannot pick the address its log-in failures
    # count against. Unset: the connection's own address is the client.
    trusted_proxy: str | None = None

    @field_validator("trusted_proxy")
    @classmethod
    def _check_trusted_proxy(cls, value: str | None) -> str | None:
        for part in (value or "").split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        f"{part.strip()!r} is not an IP address or CIDR range; set TRUSTED_PROXY to "
                        "the proxy's address(es), e.g. TRUSTED_PROXY=127.0.0.1 or 10.0.0.0/24"
                    ) from None
        return value

    @property
    def trusted_proxies(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The networks whose X-Forwarded-For header is believed (empty: none)."""
        parts = (p.strip() for p in (self.trusted_proxy or "").split(","))
        return tuple(ipaddress.ip_network(p, strict=False) for p in parts if p)

    @property
    def session_idle(self) -> timedelta:
        """How long a log-in session may go unused before it ends."""
        return timedelta(hours=self.session_idle_hours)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call `get_settings.cache_clear()` after changing env)."""
    # ENV_FILE="" disables reading `.env` (the test suite does, so a developer's file is ignored).
    env_file = os.environ.get("ENV_FILE", ".env") or None
    return Settings(_env_file=env_file)


def describe_error(exc: Exception) -> str:
    """Turn a settings validation error into one readable line per problem."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        lines = []
        for err in errors():
            loc = ".".join(str(p) for p in err.get("loc", ())) or "settings"
            lines.append(f"{loc.upper()}: {err.get('msg')}")
        return "; ".join(lines)
    return str(exc)
