"""Usage & cost: calls, minutes and spend over time, per job, and against the monthly budget."""

import io

import streamlit as st

from core import timezones
from core.agent import settings as agent_settings
from core.usage import budget
from core.usage import export as usage_export
from core.usage import period as usage_period
from core.usage import views as usage_views
from core.usage.costs import money_text
from dashboard import ui
from dashboard.components import charts

user = ui.require_user("usage")
db = ui.require_database()
currency = ui.settings().cost_currency

st.title("Usage & cost")

state = budget.budget_state(db, agent_settings.get_global_config(db).monthly_budget)
st.subheader(f"This month: {usage_period.month_words(state.month)}")
figures = st.columns(3)
figures[0].metric("Spent", money_text(state.spent, currency))
figures[1].metric("Committed", money_text(state.committed, currency))
figures[2].metric("Left to commit", money_text(state.remaining, currency))
budget_col, text_col = st.columns([2, 3])
budget_col.plotly_chart(charts.budget_gauge(state, currency), width="stretch", key="usage.budget_chart")
with text_col:
    if state.level == "exceeded":
        st.error(state.message, icon=":material/block:")
    elif state.level == "warning":
        st.warning(state.message, icon=":material/warning:")
    else:
        st.success(state.message, icon=":material/savings:")
    st.caption(
        "Spent: what this month's calls have cost so far, estimates included until the providers "
        "report actual figures. Committed: what new calls are checked against — ended calls at "
        "their cost, calls in progress (or whose outcome is unknown) at the most they can cost. "
        "The monthly budget is set in Global settings."
    )

zone = usage_period.organisation_zone(db)
today = usage_period.today(zone)
labels = usage_views.job_filter_options(db)
filters = st.columns([2, 2])
picked = filters[0].date_input(
    f"Days ({timezones.zone_words(zone)})",
    value=usage_views.default_range(today),
    max_value=usage_views.last_pickable_day(today),
    key="usage.range",
)
job_id = (
    filters[1].selectbox(
        "Job",
        options=list(labels),
        format_func=labels.get,
        key="usage.job",
    )
    or None
)
st.caption(f"Days and the budget month follow the organisation time zone, {zone.replace('_', ' ')}, "
           "set in Global settings.")
if not isinstance(picked, tuple | list) or len(picked) != 2:
    st.info("Pick the last day of the range.")
    st.stop()
start, end = picked

try:
    usage = usage_views.usage_summary(db, start, end, job_id)
except ValueError as exc:
    st.error(f"Cannot show that range: {exc}.")
    st.stop()

if usage.empty:
    st.info(
        "No call has ended in this range yet. Calls appear here once they finish; widen the "
        "days, pick another job, or launch screenings from **Launch calls**.",
        icon=":material/insights:",
    )
    st.stop()

head = usage_views.headline(usage)
metrics = [*st.columns(3), *st.columns(3)]
metrics[0].metric("Calls", head.calls)
metrics[1].metric("Answer rate", head.answer_rate)
metrics[2].metric("Minutes", head.minutes)
metrics[3].metric("Spend", f"{head.spend} {currency}",
                  help=f"of which estimated: {head.estimated} {currency}")
metrics[4].metric("Per completed screening", head.with_currency(head.per_completed, currency))
metrics[5].metric("Per advanced candidate", head.with_currency(head.per_advanced, currency))
if head.test_calls:
    st.caption(
        f"The spend includes {head.test_calls:,} test calls to team members' own numbers; they "
        "are not counted as calls or in the cost per screening."
    )
if head.has_foreign_priced:
    st.caption(
        f"{head.foreign_priced} calls were priced by Twilio in another currency; their telephony "
        f"cost is shown as an estimate in {currency}."
    )

left, right = st.columns(2)
left.plotly_chart(charts.calls_by_outcome(usage.daily), width="stretch", key="usage.outcomes")
right.plotly_chart(charts.spend_by_component(usage.daily, currency), width="stretch", key="usage.spend")
left.plotly_chart(charts.minutes_per_day(usage.daily), width="stretch", key="usage.minutes")
right.plotly_chart(charts.answer_rate_and_duration(usage.daily), width="stretch", key="usage.answer")
left.plotly_chart(charts.spend_per_job(usage.jobs, currency), width="stretch", key="usage.jobs")
right.plotly_chart(charts.cost_per_outcome(usage.jobs, currency), width="stretch", key="usage.unit")
left.plotly_chart(charts.wasted_spend(usage.daily, currency), width="stretch", key="usage.waste")
if usage.end_reasons.empty:
    right.info("No end reasons reported for these calls.")
else:
    right.plotly_chart(charts.end_reasons(usage.end_reasons), width="stretch", key="usage.reasons")

st.subheader("Per job")
st.dataframe(usage_views.unit_costs_per_job(usage.jobs), hide_index=True, width="stretch")
st.caption(f"Wasted spend in this range (no answer, voicemail, early hang-ups): {head.wasted} {currency}.")

st.subheader("Export")
st.caption(f"The ended calls of this filter, one row each (at most {usage_export.EXPORT_MAX_ROWS:,} rows).")
if st.button("Prepare CSV", key="usage.export"):
    buffer = io.StringIO()
    result = usage_export.export_csv(db, buffer, start, end, job_id,
                                     for_people=usage_export.ForPeople(ui.viewer_zone(user), labels))
    if result.truncated:
        st.warning("The export was cut at the row limit; narrow the days or pick a job.")
    st.download_button(
        f"Download {result.rows:,} calls",
        buffer.getvalue(),
        file_name=usage_export.file_name(start, end, labels.get(job_id) if job_id else None),
        mime="text/csv",
        key="usage.download",
    )
