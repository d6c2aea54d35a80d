"""Test-only fault hooks: named points where a process kills itself, and a skewed clock.

Inert unless a test sets `VSC_FAULT_KILL_AT` (a point name) or `VSC_FAULT_CLOCK_SKEW_SECONDS`,
and refused in live mode, so no production process can be told to crash or to misread time.
The fault-injection suite (tests/faults/) uses them to kill a worker between two steps of a
dial and to run workers whose clocks disagree.
"""

from __future__ import annotations

import logging
import os
import signal
from datetime import timedelta

log = logging.getLogger(__name__)

KILL_AT = "VSC_FAULT_KILL_AT"
CLOCK_SKEW = "VSC_FAULT_CLOCK_SKEW_SECONDS"
# The named points of a dial, in order; then the usage counters' point between a sync's gate
# and its increment, and the budget's between a call's release and the month's.
POINTS = ("before_ultravox_create", "after_ultravox_create", "before_twilio_create",
          "after_twilio_create", "after_callsid_stored", "after_rollup_gate", "after_budget_release")


class FaultRefused(RuntimeError):
    """A fault hook was set in live mode."""


def configured() -> list[str]:
    """The fault variables set in this process's environment."""
    return [name for name in (KILL_AT, CLOCK_SKEW) if os.environ.get(name)]


def refuse_in_live(provider_mode: str | None) -> None:
    """Refuse to start a live process with a fault hook set (a test variable leaked)."""
    if provider_mode == "live" and configured():
        raise FaultRefused(f"{', '.join(configured())} must not be set in live mode: "
                           "they are test-only fault hooks. Unset them.")


def point(name: str) -> None:
    """A named point: the process dies here (SIGKILL) when a test asked for it."""
    if name not in POINTS:
        raise ValueError(f"unknown fault point {name!r}")
    if os.environ.get(KILL_AT) == name:
        log.warning("fault hook: killing this process at %s", name)
        os.kill(os.getpid(), signal.SIGKILL)


def clock_skew() -> timedelta:
    """How far this process's clock is set off by a test (zero normally)."""
    raw = os.environ.get(CLOCK_SKEW)
    return timedelta(seconds=float(raw)) if raw else timedelta(0)
