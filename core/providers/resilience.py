"""Timeouts, bounded retries with backoff, and a circuit breaker per provider."""

from __future__ import annotations

import contextlib
import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import TypeVar

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

log = logging.getLogger(__name__)

T = TypeVar("T")


class ProviderUnavailable(Exception):
    """The provider cannot be reached or keeps failing; the message is fit for a page.

    `ambiguous` is True when the last attempt may have been processed (a read timeout, a 5xx):
    a create that failed this way may have happened.
    """

    def __init__(self, provider: str, reason: str, *, ambiguous: bool = False) -> None:
        self.provider = provider
        self.reason = reason
        self.ambiguous = ambiguous
        super().__init__(f"{provider} is unavailable right now ({reason}).")


class ProviderError(Exception):
    """The provider refused the request (a 4xx that is the caller's fault), with its message."""

    def __init__(
        self, provider: str, status: int, message: str, code: int | str | None = None
    ) -> None:
        self.provider = provider
        self.status = status
        self.code = code
        self.provider_message = message
        prefix = f"{provider} rejected the request"
        suffix = f" (error {code})" if code not in (None, status) else f" (HTTP {status})"
        super().__init__(f"{prefix}: {message}{suffix}")


class TransientError(Exception):
    """One failed attempt worth retrying: a timeout, a connection error, a 429 or a 5xx.

    `ambiguous` is True when the request may have been processed (read timeout, 5xx), so a
    non-idempotent request must not simply be sent again. `answered` is True when the
    server did answer (a 5xx): it has finished with the request, whatever it did.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None, ambiguous: bool,
                 answered: bool = False) -> None:
        self.reason = reason
        self.retry_after = retry_after
        self.ambiguous = ambiguous
        self.answered = answered
        super().__init__(reason)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry one operation."""

    attempts: int = 4  # first try included
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A provider asking us to wait longer than this is treated as down for now: a page
    # must not hang for minutes behind one click.
    max_retry_after: float = 30.0

    def wait_for(self, attempt_number: int, retry_after: float | None) -> float:
        """Seconds to sleep after failed attempt `attempt_number` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        backoff = self.base_delay * (2 ** (attempt_number - 1))
        # Full jitter on half the delay keeps many clients from retrying in lockstep.
        return min(self.max_delay, backoff / 2 + random.uniform(0, backoff / 2))  # jitter  # nosec B311


class CircuitBreaker:
    """Opens after `threshold` consecutive failed attempts; probes again after `reset_seconds`."""

    def __init__(self, name: str, threshold: int = 5, reset_seconds: float = 30.0) -> None:
        self.name = name
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._last_reason = ""

    @property
    def state(self) -> str:
        """`closed`, `open` or `half-open`."""
        with self._lock:
            return self._state_locked()

    def _state_locked(self) -> str:
        if self._opened_at is None:
            return "closed"
        if time.monotonic() - self._opened_at >= self.reset_seconds:
            return "half-open"
        return "open"

    def before_call(self) -> None:
        """Raise ProviderUnavailable while open; in half-open state let the caller probe."""
        with self._lock:
            if self._state_locked() == "open":
                raise ProviderUnavailable(
                    self.name, f"paused after repeated failures: {self._last_reason}"
                )

    def record_success(self) -> None:
        """A request got an answer from the provider: close the breaker."""
        with self._lock:
            if self._opened_at is not None:
                log.info("%s circuit closed", self.name)
            self._failures = 0
            self._opened_at = None

    def record_failure(self, reason: str) -> None:
        """A transient failure: open at the threshold, or again after a failed probe."""
        with self._lock:
            self._last_reason = reason
            self._failures += 1
            half_open = self._state_locked() == "half-open"
            if half_open or self._failures >= self.threshold:
                if not half_open:
                    log.warning("%s circuit opened after %d failures", self.name, self._failures)
                self._opened_at = time.monotonic()

    def reset(self) -> None:
        """Forget all failures (tests, or an operator forcing a retry)."""
        self.record_success()


def run_with_retries(
    operation: Callable[[], T],
    *,
    provider: str,
    breaker: CircuitBreaker,
    policy: RetryPolicy,
    retry_if: Callable[[TransientError], bool] = lambda exc: True,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `operation`, retrying TransientError per `policy` while the breaker allows it.

    `operation` raises TransientError for a failed attempt and ProviderError for a refusal;
    anything it returns counts as a success. Exhausted retries become ProviderUnavailable.
    """

    def attempt() -> T:
        breaker.before_call()
        try:
            result = operation()
        except TransientError as exc:
            breaker.record_failure(exc.reason)
            raise
        except ProviderError:
            breaker.record_success()  # the provider answered: it is up
            raise
        breaker.record_success()
        return result

    def should_retry(exc: BaseException) -> bool:
        return isinstance(exc, TransientError) and retry_if(exc)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        delay = policy.wait_for(state.attempt_number, retry_after)
        log.info("%s attempt %d failed (%s); retrying in %.2fs", provider,
                 state.attempt_number, getattr(exc, "reason", exc), delay)
        return delay

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=retry_if_exception(should_retry),
        sleep=sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except TransientError as exc:
        raise ProviderUnavailable(provider, exc.reason, ambiguous=exc.ambiguous) from exc


@contextlib.contextmanager
def transport_errors() -> Iterator[None]:
    """Turn requests' timeouts and connection errors into TransientError.

    `ambiguous` says whether the request may have reached the provider: a refused connection
    or a connect timeout never did, a read timeout or a reset may have (so a create must be
    looked up, not re-sent).
    """
    try:
        yield
    except requests.ConnectTimeout as exc:
        raise TransientError("connection timed out", ambiguous=False) from exc
    except requests.Timeout as exc:
        raise TransientError("no answer in time", ambiguous=True) from exc
    except requests.ConnectionError as exc:
        refused = "refused" in str(exc).lower()
        raise TransientError("connection failed", ambiguous=not refused) from exc
