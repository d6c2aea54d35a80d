"""The follow-up's reading of a call: how long it may last, from its settings snapshot (pure)."""

from __future__ import annotations

from datetime import timedelta

from core.lifecycle.followup import max_duration
from tests.factories import call


def _limit(snapshot: dict) -> timedelta:
    return max_duration(call(config_snapshot=snapshot))


def test_the_maximum_length_comes_from_the_calls_snapshot() -> None:
    assert _limit({"config": {"max_duration_minutes": 15}}) == timedelta(minutes=15)
    assert _limit({"max_duration_seconds": 90}) == timedelta(seconds=90)  # at the top level too


def test_without_a_usable_snapshot_a_call_may_last_an_hour() -> None:
    assert max_duration(call()) == timedelta(minutes=60)
    assert _limit({"config": {"max_duration_minutes": 0}}) == timedelta(minutes=60)
    assert _limit({"config": {"max_duration_minutes": "15"}}) == timedelta(minutes=60)
