"""Webhook delivery with each provider's documented retry rules, every attempt recorded.

Ultravox: any non-2xx answer, a timeout or a connection error is a failure; it is retried 10
times, the first retry 30 s after the failure and each next delay doubled (speed-scaled).
Twilio (default connection overrides, rc=1): one retry, only after a connection failure or a
timeout, and all attempts within the total time tt. Any HTTP answer, 5xx included, is final:
whether Twilio retries a 5xx by default is unconfirmed, so the sandbox does not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import requests

from sandbox.state import ULTRAVOX_FIRST_RETRY, SandboxState

log = logging.getLogger(__name__)

# Builds (body, headers) for one attempt: re-signed each time, so the timestamp is fresh.
MakeRequest = Callable[[], tuple[Any, dict[str, str]]]


def _new_record(state: SandboxState, kind: str, url: str, event: str) -> dict[str, Any]:
    # `attempts`, `status` and `delivered` summarise; `tries` holds each attempt's time and result;
    # `outcome` is pending, then delivered, failed (given up) or stopped (sandbox shut down).
    record: dict[str, Any] = {"kind": kind, "url": url, "event": event, "attempts": 0,
                              "status": None, "delivered": False, "outcome": "pending",
                              "tries": []}
    with state.lock:
        state.deliveries.append(record)
    return record


def _attempt(state: SandboxState, record: dict[str, Any], make_request: MakeRequest,
             timeout: float | tuple[float, float], follow_redirects: bool) -> dict[str, Any]:
    """POST once; record and return {at, seconds, status, error} (error: timeout/connection/other)."""
    data, headers = make_request()
    started, at = time.monotonic(), time.time()
    status: int | None = None
    error: str | None = None
    try:
        resp = requests.post(record["url"], data=data, headers=headers, timeout=timeout,
                             allow_redirects=follow_redirects)
        status = resp.status_code
    except requests.Timeout:  # before ConnectionError: a connect timeout is both
        error = "timeout"
    except requests.ConnectionError as exc:  # refused, reset, closed without an answer
        error = f"connection: {type(exc).__name__}"
    except requests.RequestException as exc:
        error = f"other: {type(exc).__name__}"
    entry = {"at": at, "seconds": time.monotonic() - started, "status": status, "error": error}
    with state.lock:
        record["tries"].append(entry)
        record["attempts"] = len(record["tries"])
        record["status"] = status if status is not None else f"error: {error}"
    return entry


def _finish(state: SandboxState, record: dict[str, Any], outcome: str) -> None:
    with state.lock:
        record["outcome"] = outcome
        record["delivered"] = outcome == "delivered"
    if outcome == "failed":
        tries = record["attempts"]
        log.warning("%s webhook %s not delivered after %d %s, last: %s", record["kind"], record["event"],
                    tries, "attempt" if tries == 1 else "attempts", record["status"])


def deliver_ultravox(state: SandboxState, url: str, event: str, make_request: MakeRequest) -> None:
    """Deliver an Ultravox webhook, retrying failures 30 s, 60 s, 120 s... (speed-scaled) later."""
    record = _new_record(state, "ultravox", url, event)
    tries = max(1, state.config.ultravox_webhook_tries)
    delay = ULTRAVOX_FIRST_RETRY
    for attempt in range(1, tries + 1):
        if state.stopping.is_set():
            return _finish(state, record, "stopped")
        # Ultravox counts only a 2xx as delivered; it does not follow redirects (a 3xx is non-2xx).
        entry = _attempt(state, record, make_request, state.config.ultravox_webhook_timeout,
                         follow_redirects=False)
        if entry["status"] is not None and 200 <= entry["status"] < 300:
            return _finish(state, record, "delivered")
        if attempt < tries:
            log.debug("ultravox webhook %s failed (%s), retry in %.0f s (simulated)",
                      event, record["status"], delay)
            if state.sim_sleep(delay):
                return _finish(state, record, "stopped")
            delay *= 2
    return _finish(state, record, "failed")


def deliver_twilio(state: SandboxState, url: str, event: str, make_request: MakeRequest) -> None:
    """Deliver a Twilio status callback: one retry after a connection failure or timeout, within tt."""
    record = _new_record(state, "twilio", url, event)
    connect, read, total = state.config.twilio_timeouts()
    tries = max(1, state.config.twilio_webhook_tries)
    started = time.monotonic()
    for _ in range(tries):
        if state.stopping.is_set():
            return _finish(state, record, "stopped")
        remaining = total - (time.monotonic() - started)
        if remaining <= 0:
            break  # tt spent: every attempt, retries included, must fit in it
        entry = _attempt(state, record, make_request, (min(connect, remaining), min(read, remaining)),
                         follow_redirects=True)
        if entry["status"] is not None:
            # A response is a response: 2xx delivered, anything else final (no retry on 5xx).
            return _finish(state, record, "delivered" if 200 <= entry["status"] < 300 else "failed")
        if entry["error"] != "timeout" and not entry["error"].startswith("connection"):
            break  # not a connection failure (e.g. a malformed URL): nothing to retry
        # Twilio documents no pause before its retry: the next attempt follows at once.
    return _finish(state, record, "failed")
