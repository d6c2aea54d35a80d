"""Charts are plain functions of aggregated frames: figures, stacking, top jobs, the budget gauge."""

from __future__ import annotations

from decimal import Decimal

from core.usage import counters
from core.usage.budget import BudgetState
from dashboard.components import charts
from tests.support.usage_data import sample_usage


def test_outcome_chart_is_stacked_with_one_trace_per_outcome():
    fig = charts.calls_by_outcome(sample_usage().daily)
    assert fig.layout.barmode == "stack"
    names = [t.name for t in fig.data]
    assert len(names) == len(counters.OUTCOMES)
    assert {"Completed", "No answer", "Line busy", "Reached voicemail", "Could not be placed"} <= set(names)
    completed = next(t for t in fig.data if t.name == "Completed")
    assert list(completed.y) == [0, 2, 0]


def test_spend_chart_in_currency_units():
    fig = charts.spend_by_component(sample_usage().daily)
    ai_actual = next(t for t in fig.data if t.name == "AI (actual)")
    assert list(ai_actual.y) == [0, 0.2, 0]


def test_every_chart_builds_from_the_same_data():
    usage = sample_usage()
    for fig in (
        charts.minutes_per_day(usage.daily),
        charts.answer_rate_and_duration(usage.daily),
        charts.spend_per_job(usage.jobs),
        charts.cost_per_outcome(usage.jobs),
        charts.wasted_spend(usage.daily),
        charts.end_reasons(usage.end_reasons),
    ):
        assert fig.data and fig.layout.title.text


def test_spend_per_job_shows_only_the_top_jobs():
    many = sample_usage(jobs=40).jobs
    assert len(charts.top_jobs(many)) == charts.MAX_JOBS_SHOWN
    assert "top 15" in charts.spend_per_job(many).layout.title.text


def test_budget_gauge_colour_follows_the_level():
    for level, colour in (("ok", "#2e7d32"), ("warning", "#f9a825"), ("exceeded", "#c62828")):
        state = BudgetState(month="2025-03", budget=Decimal(100), spent=Decimal(40), level=level, message="",
                            committed=Decimal(85))
        fig = charts.budget_gauge(state)
        assert fig.data[0].gauge.bar.color == colour
        assert fig.data[0].gauge.threshold.value == 100
        assert fig.data[0].value == 85  # the committed figure: what new calls are checked against
        assert fig.data[0].title.text == "Committed of 100.00 USD"  # no month code, one money format
        assert [a.text for a in fig.layout.annotations] == ["85.00 USD"]


def test_pipeline_funnel_keeps_the_stage_order_and_leaves_out_empty_stages():
    fig = charts.pipeline_funnel({"not called": 4, "scheduled": 0, "calling": 1, "advanced": 2})
    (trace,) = fig.data
    assert trace.type == "funnel"
    assert list(trace.y) == ["not called", "calling", "advanced"] and list(trace.x) == [4, 1, 2]


def test_end_reasons_are_named_in_words_not_codes():
    fig = charts.end_reasons(sample_usage().end_reasons)
    shown = list(fig.data[0].y)
    assert shown and not [s for s in shown if "_" in s or s != s[:1].upper() + s[1:]]
    assert "The agent ended the call" in shown or "The candidate hung up" in shown
