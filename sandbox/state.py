"""In-memory state of the sandbox: calls of both providers, what it received, injected faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.conversation import Script

# Twilio's documented default connection overrides ct, rt and tt (5000, 15000, 15000 ms).
TWILIO_CONNECT_TIMEOUT = 5.0
TWILIO_READ_TIMEOUT = 15.0
TWILIO_TOTAL_TIME = 15.0
# Ultravox's first webhook retry comes 30 s after the failure; each next delay doubles.
ULTRAVOX_FIRST_RETRY = 30.0
# The shortest a sped-up provider timeout gets (real seconds).
TIMEOUT_FLOOR = 5.0


@dataclass
class SandboxConfig:
    """Credentials the sandbox accepts and signs with, and where it sends webhooks."""

    ultravox_api_key: str
    ultravox_webhook_secret: str
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_from_number: str
    webhook_base_url: str | None  # None: play calls out but send no Ultravox webhooks
    speed: float = 1.0
    # Ultravox retries a failed webhook (non-2xx, timeout, connection error) 10 times, the
    # first retry 30 s later and each next delay doubled: 11 attempts, delays scaled by `speed`.
    ultravox_webhook_tries: int = 11
    ultravox_webhook_timeout: float = 5.0  # real seconds; Ultravox documents no value
    # Twilio's default connection overrides: one retry (rc=1), only after a connection failure
    # or a timeout; all attempts within tt. None means Twilio's default, sped up (see below).
    twilio_webhook_tries: int = 2
    twilio_read_timeout: float | None = None  # rt, seconds
    twilio_total_time: float | None = None  # tt, seconds

    def scaled_timeout(self, seconds: float) -> float:
        """A provider timeout of `seconds`, sped up by `speed` but not below TIMEOUT_FLOOR."""
        # The receiver answers in real time whatever the speed: a timeout of 15 s / 200 would
        # fail a healthy sidecar, so a sped-up timeout never drops below the floor.
        return max(min(seconds, TIMEOUT_FLOOR), seconds / self.speed)

    def twilio_timeouts(self) -> tuple[float, float, float]:
        """Twilio's (connect, read, total) timeouts for a status callback, in real seconds."""
        connect = self.scaled_timeout(TWILIO_CONNECT_TIMEOUT)
        read = self.twilio_read_timeout
        total = self.twilio_total_time
        return (connect,
                self.scaled_timeout(TWILIO_READ_TIMEOUT) if read is None else read,
                self.scaled_timeout(TWILIO_TOTAL_TIME) if total is None else total)


@dataclass
class Fault:
    """Make the next `count` matching requests fail (or hang) for real."""

    status: int | None = 500
    count: int = 1
    retry_after: float | None = None
    hang_seconds: float = 0.0
    path_prefix: str = "/"
    method: str | None = None
    after: bool = False  # process the request first, then fail the response (lost answer)
    code: int | None = None  # the Twilio error code of the answer (default 20000 + status)
    message: str | None = None  # the error text of the answer (default "Injected failure")


@dataclass
class UltravoxCall:
    """One simulated Ultravox call: its public JSON and its playback state."""

    data: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)
    script: Script | None = None
    hangup_requested: threading.Event = field(default_factory=threading.Event)
    joined_event: threading.Event = field(default_factory=threading.Event)
    twilio_sid: str | None = None
    seq: int = 0  # insertion order, for stable sorting


@dataclass
class TwilioCall:
    """One simulated Twilio call: its public resource and its callback state."""

    data: dict[str, Any]
    status_callback: str | None
    events: list[str]
    ring_timeout: int
    time_limit: int
    machine_detection: bool
    ultravox_call_id: str | None
    stop: threading.Event = field(default_factory=threading.Event)
    stop_status: str | None = None
    sequence: int = 0


class SandboxState:
    """Everything the sandbox knows; guarded by one lock."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.ultravox_calls: dict[str, UltravoxCall] = {}
        self.twilio_calls: dict[str, TwilioCall] = {}
        self.received: list[dict[str, Any]] = []
        self.deliveries: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.recordings: dict[str, bytes] = {}
        # Calls deleted through the API (ids), as the providers keep a tombstone of each.
        self.deleted_ultravox_calls: set[str] = set()
        self.deleted_twilio_calls: set[str] = set()
        self.stopping = threading.Event()
        self._seq = 0

    def next_seq(self) -> int:
        """A monotonically increasing number (creation order)."""
        with self.lock:
            self._seq += 1
            return self._seq

    def record(self, entry: dict[str, Any]) -> None:
        """Remember one request the sandbox received (kept in memory only, never logged)."""
        entry.setdefault("at", time.time())
        with self.lock:
            self.received.append(entry)

    def delivery_snapshot(self) -> list[dict[str, Any]]:
        """A copy of the webhook deliveries, attempts included (delivery threads keep appending)."""
        with self.lock:
            return [{**d, "tries": [dict(t) for t in d.get("tries", [])]} for d in self.deliveries]

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The first active fault matching this request, consuming one of its count."""
        with self.lock:
            for fault in self.faults:
                if fault.count <= 0 or not path.startswith(fault.path_prefix):
                    continue
                if path.startswith("/_"):
                    continue  # admin and media routes are never faulted
                if fault.method and fault.method.upper() != method.upper():
                    continue
                fault.count -= 1
                return fault
        return None

    def sim_sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait `seconds` of simulated time; True if `stop` (or shutdown) fired meanwhile."""
        deadline = time.monotonic() + seconds / self.config.speed
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self.stopping.is_set():
                return True
            if stop is not None and stop.wait(min(remaining, 0.05)):
                return True
            if stop is None:
                time.sleep(min(remaining, 0.05))


def iso_now() -> str:
    """Now as an ISO 8601 UTC string with a Z suffix, as Ultravox writes timestamps."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def rfc2822_now() -> str:
    """Now in Twilio's date format ("Sun, 25 Mar 2018 09:53:19 +0000")."""
    return datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `predicate` until it returns something truthy; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise TimeoutError(f"{what} in time")
