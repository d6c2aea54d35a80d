"""Settings from the environment and `.env`, validated once per process."""

from __future__ import annotations

import base64
import binascii
import functools
import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
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

    # -- Personal data at rest, lookup hashes and recording links (issue 13, steps 3-4) --------
    # DATA_ENCRYPTION_OLD_KEYS: earlier Fernet keys, comma-separated, still read (never written)
    # until `reencrypt` has moved everything to DATA_ENCRYPTION_KEY. LOOKUP_HASH_KEY keys the
    # phone and name-search hashes and is never rotated (a rotation would orphan every hash).
    # RECORDING_URL_KEY signs the short-lived recording links the sidecar serves. The last two
    # are required in live mode; in sandbox mode each is generated once into .data/secrets/.
    # MEDIA_DOWNLOAD_HOSTS: hosts (besides the Ultravox API's own) a recording or voice-preview
    # redirect may point to, https only; ignored in sandbox mode (only the sandbox is allowed).
    data_encryption_old_keys: SecretStr | None = None
    lookup_hash_key: SecretStr | None = None
    recording_url_key: SecretStr | None = None
    media_download_hosts: str = "storage.googleapis.com"

    @model_validator(mode="after")
    def _check_personal_data(self) -> Settings:
        for name, value in (("DATA_ENCRYPTION_KEY", self.data_encryption_key),
                            ("DATA_ENCRYPTION_OLD_KEYS", self.data_encryption_old_keys)):
            for key in _split_keys(value):
                if not _is_fernet_key(key):
                    raise ConfigError(f"{name} holds a value that is not a Fernet key ({_FERNET_HOW}).")
        if self.data_encryption_old_keys and not self.data_encryption_key:
            raise ConfigError("DATA_ENCRYPTION_OLD_KEYS is set but DATA_ENCRYPTION_KEY is not: set the "
                              "new key in DATA_ENCRYPTION_KEY and keep the old ones for reading.")
        for name, value in (("LOOKUP_HASH_KEY", self.lookup_hash_key),
                            ("RECORDING_URL_KEY", self.recording_url_key)):
            if value is not None and len(value.get_secret_value()) < 32:
                raise ConfigError(f"{name} must be at least 32 characters ({_SECRET_HOW}).")
        if self.provider_mode == "live":
            for name, value in (("LOOKUP_HASH_KEY", self.lookup_hash_key),
                                ("RECORDING_URL_KEY", self.recording_url_key)):
                if value is None:
                    raise ConfigError(f"PROVIDER_MODE=live needs {name} to be set ({_SECRET_HOW}).")
        return self

    @property
    def encryption_keys(self) -> list[str]:
        """The Fernet keys in force: DATA_ENCRYPTION_KEY first (it encrypts), then the old ones."""
        return _split_keys(self.data_encryption_key) + _split_keys(self.data_encryption_old_keys)

    @property
    def lookup_secret(self) -> bytes:
        """The key of the phone and name-search hashes (sandbox: generated once into .data/)."""
        if self.lookup_hash_key is not None:
            return self.lookup_hash_key.get_secret_value().encode()
        return sandbox_generated_secret("lookup_hash_key", self.is_sandbox).encode()

    @property
    def recording_url_secret(self) -> bytes:
        """The key that signs recording links (sandbox: generated once into .data/)."""
        if self.recording_url_key is not None:
            return self.recording_url_key.get_secret_value().encode()
        return sandbox_generated_secret("recording_url_key", self.is_sandbox).encode()

    @property
    def media_hosts(self) -> frozenset[str]:
        """Hosts a media redirect may point to, lower case (live mode only)."""
        return frozenset(h.strip().lower() for h in self.media_download_hosts.split(",") if h.strip())


_FERNET_HOW = ("make one with `.venv/bin/python -c 'from cryptography.fernet import Fernet; "
               "print(Fernet.generate_key().decode())'`")
_SECRET_HOW = "make one with `.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
# Where sandbox mode keeps the secrets it generated for itself (one file each, 0600).
# Integration point: the shared generated-secrets mechanism of issue 13 step 1 replaces this.
SANDBOX_SECRETS_DIR = Path(__file__).resolve().parent.parent / ".data" / "secrets"


def _split_keys(value: SecretStr | None) -> list[str]:
    return [k.strip() for k in (value.get_secret_value() if value else "").split(",") if k.strip()]


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (ValueError, binascii.Error):
        return False


def sandbox_generated_secret(name: str, is_sandbox: bool) -> str:
    """A secret generated once per installation into .data/secrets/ (sandbox mode only)."""
    if not is_sandbox:
        raise ConfigError(f"{name.upper()} is not set ({_SECRET_HOW}).")
    return _read_or_create(SANDBOX_SECRETS_DIR / name)


@functools.lru_cache(maxsize=16)
def _read_or_create(path: Path) -> str:
    # Cached per process: hashing reads the key for every number, the file never changes.
    name = path.name
    for _ in range(50):
        try:
            value = path.read_text().strip()
        except FileNotFoundError:
            value = ""
        if len(value) >= 32:
            return value
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside, then linked into place: several processes starting at once agree on
        # the first one linked (os.link fails when the name exists), and nobody reads half a file.
        tmp = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    raise ConfigError(f"{path} holds no usable secret; delete it and start again.")


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
