"""The health texts: how old a heartbeat is, and what the sidebar says about the worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import health

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(0), "0 s ago"),
        (timedelta(seconds=119), "119 s ago"),
        (timedelta(seconds=120), "2 min ago"),
        (timedelta(seconds=7199), "119 min ago"),
        (timedelta(hours=2), "2 h ago"),
        (timedelta(seconds=-5), "0 s ago"),  # a clock a little ahead is never "in the future"
    ],
)
def test_describe_age(ago: timedelta, text: str) -> None:
    assert health.describe_age(NOW - ago, NOW) == text


def test_describe_age_of_nothing() -> None:
    assert health.describe_age(None, NOW) == "never"


def test_worker_status() -> None:
    assert health.worker_status(None, NOW) == "worker: not running"
    assert health.worker_status(NOW - timedelta(seconds=5), NOW) == "worker: alive (5 s ago)"
    assert health.worker_status(NOW - health.HEARTBEAT_STALE_AFTER, NOW).startswith("worker: alive")
    stale = NOW - health.HEARTBEAT_STALE_AFTER - timedelta(seconds=1)
    assert health.worker_status(stale, NOW) == "worker: silent since 31 s ago"
