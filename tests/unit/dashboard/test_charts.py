"""Charts are plain functions of aggregated frames: figures, stacking, per-unit costs, budget."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.usage import counters
from core.usage import views as usage_views
from core.usage.spend import BudgetState
from dashboard.components import charts


def _usage(jobs: int = 2) -> usage_views.UsageData:
    days = {
        "2025-03-03": {
            "calls": 3,
            "out_completed": 2,
            "out_no_answer": 1,
            "answered": 2,
            "seconds": 300,
            "answered_seconds": 300,
            "ai_act": 200_000,
            "tel_est": 42_000,
            "er_hangup": 2,
        },
        "2025-03-04": {
            "calls": 1,
            "out_voicemail": 1,
            "seconds": 20,
            "waste_voicemail": 19_000,
            "ai_est": 5_000,
            "tel_est": 14_000,
            "er_agent_hangup": 1,
        },
    }
    job_counters = {
        f"j{i}": {"calls": 2, "out_completed": 1, "advanced": i % 2, "ai_act": 100_000 + i, "tel_est": 28_000}
        for i in range(jobs)
    }
    return usage_views.usage_from_counters(date(2025, 3, 2), date(2025, 3, 4), None, days, job_counters, {})


def test_daily_frame_covers_every_day_of_the_range():
    usage = _usage()
    assert len(usage.daily) == 3 and usage.daily["calls"].tolist() == [0, 3, 1]
    assert usage.totals["calls"] == 4 and usage.total_cost_micros == 261_000


def test_outcome_chart_is_stacked_with_one_trace_per_outcome():
    fig = charts.calls_by_outcome(_usage().daily)
    assert fig.layout.barmode == "stack"
    assert [t.name for t in fig.data] == [o.replace("_", " ").capitalize() for o in counters.OUTCOMES]
    completed = next(t for t in fig.data if t.name == "Completed")
    assert list(completed.y) == [0, 2, 0]


def test_spend_chart_in_currency_units():
    fig = charts.spend_by_component(_usage().daily)
    ai_actual = next(t for t in fig.data if t.name == "AI (actual)")
    assert list(ai_actual.y) == [0, 0.2, 0]


def test_every_chart_builds_from_the_same_data():
    usage = _usage()
    for fig in (
        charts.minutes_per_day(usage.daily),
        charts.answer_rate_and_duration(usage.daily),
        charts.spend_per_job(usage.jobs),
        charts.cost_per_outcome(usage.jobs),
        charts.wasted_spend(usage.daily),
        charts.end_reasons(usage.end_reasons),
    ):
        assert fig.data and fig.layout.title.text


def test_unit_costs_per_job_and_top_jobs():
    unit = usage_views.unit_costs_per_job(_usage().jobs)
    j0 = unit[unit["job"] == "j0"].iloc[0]
    assert j0["per_completed"] == Decimal("0.128") and j0["per_advanced"] is None
    many = _usage(jobs=40).jobs
    assert len(charts.top_jobs(many)) == charts.MAX_JOBS_SHOWN
    assert "top 15" in charts.spend_per_job(many).layout.title.text


def test_budget_gauge_colour_follows_the_level():
    for level, colour in (("ok", "#2e7d32"), ("warning", "#f9a825"), ("exceeded", "#c62828")):
        state = BudgetState(month="2025-03", budget=Decimal(100), spent=Decimal(85), level=level, message="")
        fig = charts.budget_gauge(state)
        assert fig.data[0].gauge.bar.color == colour
        assert fig.data[0].gauge.threshold.value == 100
