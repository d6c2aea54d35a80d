"""Plotly figures for the usage page, built from the DataFrames core.usage returns."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core import labels
from core.usage.budget import BudgetState
from core.usage.costs import BUDGET_WARNING_FRACTION, MICROS, money_text
from core.usage.counters import OUTCOMES
from core.usage.views import unit_costs_per_job
from dashboard.safe_text import chart_label

_OUTCOME_COLORS = {
    "completed": "#2e7d32",
    "voicemail": "#f9a825",
    "no_answer": "#90a4ae",
    "busy": "#8d6e63",
    "failed": "#c62828",
    "canceled": "#b0bec5",
    "unknown": "#6a1b9a",
}
_COMPONENTS = (
    ("ai_act", "AI (actual)", "#1565c0"),
    ("ai_est", "AI (estimated)", "#90caf9"),
    ("tel_act", "Telephony (actual)", "#6a1b9a"),
    ("tel_est", "Telephony (estimated)", "#ce93d8"),
)
_WASTE = (
    ("waste_unanswered", "No answer, busy or failed", "#90a4ae"),
    ("waste_voicemail", "Voicemail", "#f9a825"),
    ("waste_early_hangup", "Early hang-up", "#e64a19"),
)


def _money(series: pd.Series) -> pd.Series:
    # Display only: micros → currency units for the axis.
    return series.astype("int64") / MICROS


def _layout(fig: go.Figure, title: str, y_title: str, *, stacked: bool = False) -> go.Figure:
    fig.update_layout(
        title=title,
        yaxis_title=y_title,
        barmode="stack" if stacked else "group",
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
        hovermode="x unified",
    )
    return fig


def _sentence_case(words: str) -> str:
    return words[:1].upper() + words[1:]


def _label(outcome: str) -> str:
    return labels.label(labels.Kind.CALL_STATUS, outcome)


def calls_by_outcome(daily: pd.DataFrame) -> go.Figure:
    """Calls per day, stacked by outcome."""
    fig = go.Figure()
    for outcome in OUTCOMES:
        fig.add_bar(
            x=daily["day"],
            y=daily[f"out_{outcome}"],
            name=_label(outcome),
            marker_color=_OUTCOME_COLORS.get(outcome),
        )
    return _layout(fig, "Calls per day by outcome", "calls", stacked=True)


def minutes_per_day(daily: pd.DataFrame) -> go.Figure:
    """Line minutes and AI-billed minutes per day."""
    fig = go.Figure()
    fig.add_bar(x=daily["day"], y=daily["seconds"] / 60, name="Phone minutes", marker_color="#546e7a")
    fig.add_bar(x=daily["day"], y=daily["ai_seconds"] / 60, name="AI billed minutes", marker_color="#1565c0")
    return _layout(fig, "Minutes per day", "minutes")


def spend_by_component(daily: pd.DataFrame, currency: str = "USD") -> go.Figure:
    """Spend per day, stacked by component (AI / telephony, actual / estimated)."""
    fig = go.Figure()
    for key, name, color in _COMPONENTS:
        fig.add_bar(x=daily["day"], y=_money(daily[key]), name=name, marker_color=color)
    return _layout(fig, "Spend per day by component", currency, stacked=True)


MAX_JOBS_SHOWN = 15  # more bars than this are unreadable; the table below the charts has every job


def _job_total(jobs: pd.DataFrame) -> pd.Series:
    return jobs["ai_est"] + jobs["ai_act"] + jobs["tel_est"] + jobs["tel_act"]


def top_jobs(jobs: pd.DataFrame, limit: int = MAX_JOBS_SHOWN) -> pd.DataFrame:
    """The `limit` jobs that cost the most (all of them when there are fewer)."""
    return jobs.assign(_total=_job_total(jobs)).nlargest(limit, "_total").drop(columns="_total")


def _jobs_title(title: str, jobs: pd.DataFrame, limit: int = MAX_JOBS_SHOWN) -> str:
    return f"{title} (top {limit} by spend)" if len(jobs) > limit else title


def spend_per_job(jobs: pd.DataFrame, currency: str = "USD") -> go.Figure:
    """Total spend of each job (the costliest ones), AI and telephony stacked in one bar."""
    ordered = top_jobs(jobs).pipe(lambda f: f.assign(_total=_job_total(f))).sort_values("_total")
    labels = ordered["job"].map(chart_label)  # job titles are typed by people: no live HTML
    fig = go.Figure()
    fig.add_bar(
        y=labels,
        x=_money(ordered["ai_est"] + ordered["ai_act"]),
        name="AI",
        orientation="h",
        marker_color="#1565c0",
    )
    fig.add_bar(
        y=labels,
        x=_money(ordered["tel_est"] + ordered["tel_act"]),
        name="Telephony",
        orientation="h",
        marker_color="#6a1b9a",
    )
    fig.update_layout(xaxis_title=currency)
    return _layout(fig, _jobs_title("Spend per job", jobs), "", stacked=True)


def answer_rate_and_duration(daily: pd.DataFrame) -> go.Figure:
    """Answer rate (%) and average answered-call duration (minutes) per day."""
    calls = daily["calls"].where(daily["calls"] > 0)
    answered = daily["answered"].where(daily["answered"] > 0)
    rate = (daily["answered"] / calls * 100).round(1)
    avg_minutes = (daily["answered_seconds"] / answered / 60).round(2)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(x=daily["day"], y=rate, name="Answer rate (%)", mode="lines+markers", connectgaps=False),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=daily["day"],
            y=avg_minutes,
            name="Average duration (min)",
            mode="lines+markers",
            line={"dash": "dot"},
        ),
        secondary_y=True,
    )
    fig.update_yaxes(title_text="answer rate (%)", range=[0, 100], secondary_y=False)
    fig.update_yaxes(title_text="minutes", rangemode="tozero", secondary_y=True)
    return _layout(fig, "Answer rate and average duration", "answer rate (%)")


def end_reasons(reasons: pd.DataFrame) -> go.Figure:
    """How calls ended (Ultravox end reason), most frequent first."""
    ordered = reasons.sort_values("calls")
    # The stored codes ("agent_hangup") in words ("The agent ended the call").
    words = ordered["end_reason"].map(lambda code: _sentence_case(labels.label(labels.Kind.END_REASON, code)))
    fig = go.Figure(go.Bar(y=words, x=ordered["calls"], orientation="h", marker_color="#455a64"))
    fig.update_layout(xaxis_title="calls")
    return _layout(fig, "End reasons", "")


def cost_per_outcome(jobs: pd.DataFrame, currency: str = "USD") -> go.Figure:
    """Cost per completed screening and per advanced candidate, for each job."""
    unit = unit_costs_per_job(top_jobs(jobs))
    fig = go.Figure()
    for column, name, color in (
        ("per_completed", "Per completed screening", "#2e7d32"),
        ("per_advanced", "Per advanced candidate", "#ef6c00"),
    ):
        values = [float(v) if v is not None else None for v in unit[column]]
        fig.add_bar(x=unit["job"].map(chart_label), y=values, name=name, marker_color=color)
    return _layout(fig, _jobs_title("What a screening costs, per job", jobs), currency)


def wasted_spend(daily: pd.DataFrame, currency: str = "USD") -> go.Figure:
    """Spend on calls that screened nobody: unanswered, voicemail, early hang-ups, per day."""
    fig = go.Figure()
    for key, name, color in _WASTE:
        fig.add_bar(x=daily["day"], y=_money(daily[key]), name=name, marker_color=color)
    return _layout(fig, "Wasted spend per day", currency, stacked=True)


def budget_gauge(state: BudgetState, currency: str = "USD") -> go.Figure:
    """This month's committed figure against the budget; amber from 80 %, red when used up."""
    budget = float(state.budget)
    spent = float(state.committed)
    color = {"ok": "#2e7d32", "warning": "#f9a825", "exceeded": "#c62828"}[state.level]
    top = max(budget, spent) * 1.1 or 1.0
    warn = budget * float(BUDGET_WARNING_FRACTION)
    fig = go.Figure(
        go.Indicator(
            mode="gauge",  # the figure is written below in the one money format (plotly's differs)
            value=spent,
            title={"text": f"Committed of {money_text(state.budget, currency)}"},
            gauge={
                "axis": {"range": [0, top]},
                "bar": {"color": color},
                "steps": [
                    {"range": [0, warn], "color": "#e8f5e9"},
                    {"range": [warn, budget], "color": "#fff8e1"},
                    {"range": [budget, top], "color": "#ffebee"},
                ],
                "threshold": {"line": {"color": "#c62828", "width": 3}, "value": budget},
            },
        )
    )
    fig.add_annotation(text=money_text(state.committed, currency), x=0.5, y=0.08, xref="paper",
                       yref="paper", showarrow=False, font={"size": 26})
    fig.update_layout(margin={"l": 30, "r": 30, "t": 60, "b": 10}, height=260)
    return fig


def pipeline_funnel(counts: dict[str, int]) -> go.Figure:
    """Candidates per pipeline stage as a funnel, stages in the order given (empty ones left out)."""
    shown = {label: n for label, n in counts.items() if n}
    fig = go.Figure(go.Funnel(y=list(shown), x=list(shown.values()), textinfo="value",
                              marker={"color": "#1565c0"}))
    fig.update_layout(title="Candidates per stage", margin={"l": 30, "r": 30, "t": 50, "b": 10},
                      height=max(220, 60 + 42 * len(shown)))
    return fig
