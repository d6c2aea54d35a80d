"""Settings from the environment and `.env`, validated once per process."""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import os
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core import faults, local_secrets

# The provider credentials that decide the mode when PROVIDER_MODE is unset: all set means
# live, none set means sandbox, anything in between is refused (never a silent sandbox).
PROVIDER_CREDENTIALS = ("ultravox_api_key", "twilio_account_sid", "twilio_auth_token",
                        "twilio_from_number")
_FERNET_HOWTO = ('.venv/bin/python -c "from cryptography.fernet import Fernet; '
                 'print(Fernet.generate_key().decode())"')
_KEY_HOWTO = '.venv/bin/python -c "import secrets; print(secrets.token_urlsafe(48))"'
# What live mode needs, each with how to get it (the refusal says both).
LIVE_REQUIREMENTS: tuple[tuple[str, str], ...] = (
    ("ultravox_api_key", "your Ultravox API key (Ultravox console, API keys)"),
    ("ultravox_webhook_secret", "the secret of your Ultravox account webhook that points at "
                                "PUBLIC_BASE_URL/webhooks/ultravox"),
    ("twilio_account_sid", "your Twilio Account SID (Twilio console)"),
    ("twilio_auth_token", "your Twilio Auth Token (Twilio console)"),
    ("twilio_from_number", "a Twilio number or verified caller ID in E.164, e.g. +14155550100"),
    ("public_base_url", "the public https:// URL that reaches the sidecar, e.g. "
                        "https://hooks.example.com"),
    ("data_encryption_key", f"a Fernet key for personal data at rest; make one with: {_FERNET_HOWTO}"),
    ("auth_cookie_key", f"signs the log-in cookie, the same on every dashboard replica; make one "
                        f"with: {_KEY_HOWTO}"),
    ("lookup_hash_key", f"keys the phone-number and name-search hashes, never rotated, at least 32 "
                        f"characters; make one with: {_KEY_HOWTO}"),
    ("recording_url_key", f"signs the short-lived recording links, at least 32 characters; make "
                          f"one with: {_KEY_HOWTO}"),
    ("tool_auth_key", f"derives each call's key for the agent's tools (/tools/...), at least 32 "
                      f"characters; make one with: {_KEY_HOWTO}"),
    ("mongodb_uri", "a real MongoDB deployment (a replica set or Atlas), e.g. "
                    "mongodb+srv://user:pass@cluster.example.net/ (the embedded server is a local "
                    "test stand-in without replication or backups)"),
)
MIN_COOKIE_KEY_LENGTH = 32


class ConfigError(ValueError):
    """A setting is missing or invalid; the message says which and how to fix it."""


def _is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def live_problems(settings: Settings) -> list[str]:
    """What live mode would refuse in these settings, one sentence per variable (pure)."""
    problems = []
    for name, howto in LIVE_REQUIREMENTS:
        if not getattr(settings, name):
            problems.append(f"{name.upper()} is not set: {howto}")
    url = settings.public_base_url
    if url and not url.startswith("https://"):
        problems.append("PUBLIC_BASE_URL must be an https:// URL in live mode (Twilio and Ultravox "
                        "only deliver webhooks to public HTTPS addresses)")
    key = settings.auth_cookie_key
    if key and len(key.get_secret_value()) < MIN_COOKIE_KEY_LENGTH:
        problems.append(f"AUTH_COOKIE_KEY is too short (at least {MIN_COOKIE_KEY_LENGTH} "
                        f"characters); make one with: {_KEY_HOWTO}")
    return problems


def sandbox_problems(settings: Settings) -> list[str]:
    """What sandbox mode refuses: listening beyond this machine with locally made secrets."""
    problems = []
    for name in ("dashboard_bind", "webhook_bind"):
        value = getattr(settings, name)
        if not _is_loopback(value):
            problems.append(
                f"{name.upper()}={value} is not a loopback address: sandbox mode only listens on "
                f"this machine (its secrets are generated locally); set {name.upper()}=127.0.0.1, "
                "or configure live mode"
            )
    return problems


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
    # Sandbox mode: where credentials not given in the environment are generated, once.
    sandbox_secrets_file: str | None = None

    dashboard_port: int = Field(8501, ge=1, le=65535)
    webhook_port: int = Field(8001, ge=1, le=65535)
    sandbox_port: int = Field(8002, ge=1, le=65535)
    embedded_db_port: int = Field(27018, ge=1, le=65535)
    dashboard_bind: str = "127.0.0.1"
    webhook_bind: str = "127.0.0.1"
    # The sidecar under gunicorn (sidecar/gunicorn_conf.py): processes, threads each, and the
    # longest a client may take to send one request (slower connections are dropped, so
    # stalled clients cannot hold every thread).
    webhook_workers: int = Field(2, ge=1, le=64)
    webhook_threads: int = Field(16, ge=1, le=256)
    webhook_read_timeout_seconds: float = Field(10.0, gt=0, le=120)

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
    # Exactly-once sweeps (core/calling/sweeper.py): a claimed call no provider has ended after
    # its maximum length plus this grace is set to "unknown"; a one-call launch that stopped
    # before its claim leaves a queued call that is canceled after `orphan_queued_seconds`.
    stuck_call_grace_seconds: float = Field(600.0, ge=10, le=86400)
    orphan_queued_seconds: float = Field(300.0, ge=10, le=86400)
    # A Twilio create whose answer was lost is looked up (core/calling/settle.py) after
    # `settle_first_look_seconds`, then every `settle_every_seconds`; a Twilio call matches when
    # created between 5 s before the request and `settle_match_after_seconds` after it.
    settle_first_look_seconds: float = Field(15.0, ge=0, le=3600)
    settle_every_seconds: float = Field(30.0, ge=0, le=3600)
    settle_match_after_seconds: float = Field(120.0, ge=1, le=3600)
    # Costs (core/costs.py). Totals are kept in one currency; the per-country table overrides
    # the flat telephony rate for estimates until Twilio's price arrives, as JSON in the
    # environment, e.g. TELEPHONY_RATES_PER_MINUTE='{"GB": "0.0200", "DE": "0.0250"}'.
    cost_currency: str = Field("USD", min_length=3, max_length=3)
    telephony_rates_per_minute: dict[str, Decimal] = Field(default_factory=dict)

    _generated: dict[str, str] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.public_base_url:
            self.public_base_url = self.public_base_url.rstrip("/")
        if self.provider_mode is None:
            given = [name for name in PROVIDER_CREDENTIALS if getattr(self, name)]
            if len(given) == len(PROVIDER_CREDENTIALS):
                self.provider_mode = "live"
            elif not given:
                self.provider_mode = "sandbox"
            else:
                missing = [n.upper() for n in PROVIDER_CREDENTIALS if n not in given]
                raise ConfigError(
                    f"PROVIDER_MODE is unset and only some provider credentials are set "
                    f"({', '.join(n.upper() for n in given)}): set {', '.join(missing)} as well "
                    "for live mode, or PROVIDER_MODE=sandbox to use the local simulator."
                )
        if self.provider_mode == "live":
            problems = live_problems(self)
            if problems:
                raise ConfigError("Live mode refuses to start: " + "; ".join(problems)
                                  + ". Set them in the environment or in .env.")
        else:
            problems = sandbox_problems(self)
            if problems:
                raise ConfigError("Sandbox mode refuses to start: " + "; ".join(problems) + ".")
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

    def generated_secrets(self) -> dict[str, str]:
        """Sandbox mode's generated credentials (read or created once from the secrets file)."""
        if self.provider_mode != "sandbox":
            raise ConfigError("generated secrets exist only in sandbox mode")
        if self._generated is None:
            path = local_secrets.resolve_path(self.sandbox_secrets_file)
            try:
                self._generated = local_secrets.load_or_create(path)
            except local_secrets.SecretsFileError as exc:
                raise ConfigError(f"SANDBOX_SECRETS_FILE: {exc}") from exc
        return self._generated

    def _in_force(self, name: str, given: SecretStr | str | None) -> str:
        # Given in the environment: that value, in both modes. Live mode has every one of
        # them (validated above); sandbox mode falls back to the generated file, never to code.
        if given:
            return given.get_secret_value() if isinstance(given, SecretStr) else given
        return self.generated_secrets()[name]

    @property
    def ultravox_key(self) -> str:
        """The Ultravox API key in force (sandbox mode: given, else generated)."""
        return self._in_force("ULTRAVOX_API_KEY", self.ultravox_api_key)

    @property
    def ultravox_secret(self) -> str:
        """The secret webhooks from Ultravox are signed with."""
        return self._in_force("ULTRAVOX_WEBHOOK_SECRET", self.ultravox_webhook_secret)

    @property
    def twilio_sid(self) -> str:
        """Twilio account SID in force."""
        return self._in_force("TWILIO_ACCOUNT_SID", self.twilio_account_sid)

    @property
    def twilio_token(self) -> str:
        """Twilio auth token in force (signs Twilio webhooks too)."""
        return self._in_force("TWILIO_AUTH_TOKEN", self.twilio_auth_token)

    @property
    def twilio_from(self) -> str:
        """Caller ID for outbound calls."""
        return self._in_force("TWILIO_FROM_NUMBER", self.twilio_from_number)

    @property
    def cookie_key(self) -> str:
        """The log-in cookie signing key in force (AUTH_COOKIE_KEY; sandbox: else generated)."""
        return self._in_force("AUTH_COOKIE_KEY", self.auth_cookie_key)

    # -- Personal data at rest, lookup hashes and recording links (issue 13, steps 3-4) --------
    # DATA_ENCRYPTION_OLD_KEYS: earlier Fernet keys, comma-separated, still read (never written)
    # until `reencrypt` has moved everything to DATA_ENCRYPTION_KEY. LOOKUP_HASH_KEY keys the
    # phone and name-search hashes and is never rotated (a rotation would orphan every hash).
    # RECORDING_URL_KEY signs the short-lived recording links the sidecar serves. The last two
    # are required in live mode; in sandbox mode each comes from SANDBOX_SECRETS_FILE.
    # MEDIA_DOWNLOAD_HOSTS: hosts (besides the Ultravox API's own) a recording or voice-preview
    # redirect may point to, https only; ignored in sandbox mode (only the sandbox is allowed).
    data_encryption_old_keys: SecretStr | None = None
    lookup_hash_key: SecretStr | None = None
    recording_url_key: SecretStr | None = None
    # TOOL_AUTH_KEY: each call's key for the agent's tool requests is HMAC-SHA256(this key, our
    # call id); Ultravox sends it back in a header. Required in live mode; sandbox: generated.
    tool_auth_key: SecretStr | None = None
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
                            ("RECORDING_URL_KEY", self.recording_url_key),
                            ("TOOL_AUTH_KEY", self.tool_auth_key)):
            if value is not None and len(value.get_secret_value()) < 32:
                raise ConfigError(f"{name} must be at least 32 characters ({_SECRET_HOW}).")
        return self

    @property
    def encryption_keys(self) -> list[str]:
        """The Fernet keys in force: DATA_ENCRYPTION_KEY first (it encrypts), then the old ones."""
        return _split_keys(self.data_encryption_key) + _split_keys(self.data_encryption_old_keys)

    @property
    def lookup_secret(self) -> bytes:
        """The key of the phone and name-search hashes (sandbox: else generated)."""
        return self._in_force("LOOKUP_HASH_KEY", self.lookup_hash_key).encode()

    @property
    def recording_url_secret(self) -> bytes:
        """The key that signs recording links (sandbox: else generated)."""
        return self._in_force("RECORDING_URL_KEY", self.recording_url_key).encode()

    @property
    def tool_secret(self) -> bytes:
        """The server key the agent's per-call tool keys derive from (sandbox: else generated)."""
        return self._in_force("TOOL_AUTH_KEY", self.tool_auth_key).encode()

    @property
    def media_hosts(self) -> frozenset[str]:
        """Hosts a media redirect may point to, lower case (live mode only)."""
        return frozenset(h.strip().lower() for h in self.media_download_hosts.split(",") if h.strip())

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
                        "the proxy's address, or several separated by commas, "
                        "e.g. TRUSTED_PROXY=127.0.0.1 or 10.0.0.0/24"
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


_FERNET_HOW = ("make one with `.venv/bin/python -c 'from cryptography.fernet import Fernet; "
               "print(Fernet.generate_key().decode())'`")
# A how-to text, not a secret.
_SECRET_HOW = ("make one with "  # nosec B105
               "`.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))'`")


def _split_keys(value: SecretStr | None) -> list[str]:
    return [k.strip() for k in (value.get_secret_value() if value else "").split(",") if k.strip()]


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (ValueError, binascii.Error):
        return False


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests call `get_settings.cache_clear()` after changing env)."""
    # ENV_FILE="" disables reading `.env` (the test suite does, so a developer's file is ignored).
    env_file = os.environ.get("ENV_FILE", ".env") or None
    settings = Settings(_env_file=env_file)
    try:
        faults.refuse_in_live(settings.provider_mode)
    except faults.FaultRefused as exc:
        raise ConfigError(str(exc)) from None
    if settings.is_sandbox:
        settings.generated_secrets()  # created or read now, so a problem stops the start
    return settings


def describe_error(exc: Exception) -> str:
    """Turn a settings validation error into one readable line per problem."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        lines = []
        for err in errors():
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, ConfigError):  # our own refusals already name the variable
                lines.append(str(cause))
                continue
            loc = ".".join(str(p) for p in err.get("loc", ())) or "settings"
            lines.append(f"{loc.upper()}: {err.get('msg')}")
        return "; ".join(lines)
    return str(exc)
