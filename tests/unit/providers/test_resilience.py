"""Resilience rules of the provider clients: Retry-After, exponential back-off, the breaker."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from core.providers.resilience import CircuitBreaker, ProviderUnavailable, RetryPolicy, parse_retry_after


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    now = time.time()
    assert parse_retry_after(formatdate(now + 10, usegmt=True), now=now) == pytest.approx(10, 1)
    assert parse_retry_after(formatdate(now - 10, usegmt=True), now=now) == 0.0


def test_retry_policy_backs_off_exponentially_with_cap_and_honours_retry_after() -> None:
    policy = RetryPolicy(attempts=6, base_delay=1.0, max_delay=5.0, max_retry_after=30)
    waits = [policy.wait_for(n, None) for n in range(1, 6)]
    assert 0.5 <= waits[0] <= 1.0
    assert 2.0 <= waits[2] <= 4.0
    assert all(w <= 5.0 for w in waits)
    assert policy.wait_for(1, 7.0) == 7.0
    assert policy.wait_for(1, 600.0) == 30  # capped: a page must not hang for minutes


def test_breaker_opens_at_threshold_and_probes_after_reset() -> None:
    breaker = CircuitBreaker("Ultravox", threshold=2, reset_seconds=0.1)
    breaker.record_failure("HTTP 500")
    breaker.before_call()  # still closed after one failure
    breaker.record_failure("HTTP 500")
    assert breaker.state == "open"
    with pytest.raises(ProviderUnavailable, match="Ultravox is unavailable right now"):
        breaker.before_call()
    time.sleep(0.12)
    assert breaker.state == "half-open"
    breaker.before_call()  # the probe may go
    breaker.record_failure("HTTP 500")  # failed probe: open again at once
    assert breaker.state == "open"
    time.sleep(0.12)
    breaker.record_success()
    assert breaker.state == "closed"
