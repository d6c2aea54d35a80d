"""The usage views over aggregated counters: the daily frame and the unit costs per job (pure)."""

from __future__ import annotations

from decimal import Decimal

from core.usage import views as usage_views
from tests.support.usage_data import sample_usage


def test_daily_frame_covers_every_day_of_the_range():
    usage = sample_usage()
    assert len(usage.daily) == 3 and usage.daily["calls"].tolist() == [0, 3, 1]
    assert usage.totals["calls"] == 4 and usage.total_cost_micros == 261_000


def test_unit_costs_per_job():
    unit = usage_views.unit_costs_per_job(sample_usage().jobs)
    j0 = unit[unit["job"] == "j0"].iloc[0]
    assert j0["per_completed"] == Decimal("0.128") and j0["per_advanced"] is None
