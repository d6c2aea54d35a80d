"""Pipeline: a job's candidates by stage (`?job=`), the funnel, the launch for everyone not yet
called, the CSV, and how the knockouts agreed with the decisions."""

import re
from datetime import date

import streamlit as st

from core import auth
from core.calling import batches
from core.compliance import reports as compliance_reports
from core.labels import counted, file_name
from core.people import jobs
from core.people.visibility import sees_personal_data
from core.review import agreement, exports
from core.review.job_pipeline import job_pipeline
from core.review.pipeline import FUNNEL_ORDER, Stage, filter_rows, stage_counts
from dashboard import ui
from dashboard.components import charts
from dashboard.safe_text import md

# Labels are dict lookups, not lambdas: AppTest keeps format_func in the (pickled) session state.
_STAGE_LABELS = {s.value: s.label for s in FUNNEL_ORDER}

user = ui.require_user("pipeline")
db = ui.require_database()

zone = ui.zone_in_sidebar(user)  # chosen on My account (the browser's until then)

st.title("Pipeline")
all_jobs = jobs.list_jobs(db, include_archived=True)
if not all_jobs:
    st.info("There is no job yet. Create one under Jobs & candidates.")
    st.stop()
job_label = {j.id: jobs.label(j) for j in all_jobs}
ids = list(job_label)
wanted = st.query_params.get("job", "")
if wanted and not (re.fullmatch(r"[A-Za-z0-9_-]{1,64}", wanted) and wanted in job_label):
    st.warning("That job link is not valid; choose a job below.")
    wanted = ""
if wanted and "pipeline.job" not in st.session_state:
    st.session_state["pipeline.job"] = wanted  # a deep link picks the job on arrival
job_id = st.selectbox("Job", ids, format_func=job_label.get, key="pipeline.job")
if st.query_params.get("job") != job_id:
    st.query_params["job"] = job_id

view = job_pipeline(db, user, job_id, zone=zone)
if view is None:
    st.warning("That job no longer exists.")
    st.stop()
if not view.rows:
    st.info("This job has no candidates yet. Add or import them under Jobs & candidates.")
    st.stop()
if view.truncated:
    st.caption("This job has more candidates than one page shows; the first 5,000 are here.")

counts = stage_counts(view.rows)
st.plotly_chart(charts.pipeline_funnel({s.label: n for s, n in counts.items()}), width="stretch",
                key="pipeline.funnel")

f1, f2, f3 = st.columns([3, 2, 1.4])
chosen = f1.multiselect("Stages", [s.value for s in FUNNEL_ORDER if counts[s]],
                        format_func=_STAGE_LABELS.get, key="pipeline.stages",
                        placeholder="All stages")
search = f2.text_input("Name", key="pipeline.search", placeholder="Search by name")
passed_only = f3.toggle("Knockouts all passed", key="pipeline.passed")
rows = filter_rows(view.rows, stages=[Stage(s) for s in chosen], search=search, all_passed=passed_only)
show_phone = sees_personal_data(user)  # the one visibility rule: viewers get no phone column
table = []
for r in rows:
    cells = {"Candidate": r.name}
    if show_phone:
        cells["Phone"] = r.phone
    cells.update({
        "Stage": r.stage_text,
        "Knockouts passed": r.knockouts.text if r.knockouts else "",
        "Summary": r.summary,
        "Reviewer": r.reviewer,
        "Call": ui.call_link(r.call_id) if r.call_id else "",
    })
    table.append(cells)
st.dataframe(table, hide_index=True, width="stretch", key="pipeline.table",
             # The stage carries a time (in two zones) for queued calls: it gets the room.
             column_config={"Stage": st.column_config.TextColumn("Stage", width=330),
                            "Knockouts passed": st.column_config.TextColumn(width=115),
                            "Reviewer": st.column_config.TextColumn(width=80),
                            "Call": st.column_config.LinkColumn("Call", display_text="Open call",
                                                                width=80)})
st.caption(f"{len(rows)} of {len(view.rows)} candidates shown.")

d1, d2 = st.columns(2)
d1.download_button(
    "Download pipeline CSV",
    data=lambda: exports.export_job_csv(ui.database(), user, job_id, zone=zone),
    file_name=file_name(view.job.title, "pipeline", day=date.today(), ext="csv"),
    mime="text/csv",
    key="pipeline.csv",
    help=exports.csv_scope(user),
)
d1.download_button(
    "Download compliance CSV",
    data=lambda: compliance_reports.compliance_csv(ui.database(), user, job_id, zone=zone),
    file_name=file_name(view.job.title, "compliance", day=date.today(), ext="csv"),
    mime="text/csv",
    key="pipeline.compliance_csv",
    help="One row per call: the time zone, window, consent, place, disclosure and retries that applied.",
)

not_called = [r.candidate_id for r in view.rows if r.stage == Stage.NOT_CALLED]


@st.dialog("Call everyone not yet called")
def _confirm_launch() -> None:
    try:
        plan = batches.preview_batch(db, user, job_id, not_called)
    except (batches.BatchError, auth.PermissionDenied) as exc:
        st.error(md(str(exc)))
        return
    st.write(f"**{plan.to_call}** of {counted(len(not_called), 'candidate')} not yet called for "
             f"**{md(job_label[job_id])}** will be queued; **{sum(plan.skipped.values())}** skipped.")
    for reason, n in plan.skipped.items():
        st.write(f"- {n} skipped: {md(reason)}")
    if plan.outside_hours:
        st.info(f"{plan.outside_hours} are outside calling hours now; the worker calls them when "
                "their window opens.")
    if plan.budget_note:
        st.warning(f"Budget: {md(plan.budget_note)} Queued calls wait until there is room.")
    if st.button("Yes, queue them", type="primary", disabled=not plan.to_call, key="pipeline.launch_yes"):
        try:
            batch = batches.create_batch(db, user, job_id, not_called)
            ui.flash("pipeline", f"{counted(batch.queued, 'call')} queued, {batch.skipped_count} skipped.")
            st.rerun()
        except (batches.BatchError, auth.PermissionDenied) as exc:
            st.error(md(str(exc)))


if auth.can(user, auth.Action.LAUNCH_CALLS) and d2.button(
        f"Call everyone not yet called ({len(not_called)})…", disabled=not not_called,
        key="pipeline.launch"):
    _confirm_launch()

st.divider()
st.subheader("Knockouts and decisions")
agreed = agreement.agreement(view.rows)
st.write(agreed.sentence)
if agreed.reviewed:
    st.dataframe([{"Knockouts": result, **{d.capitalize(): n for d, n in by.items()}}
                  for result, by in agreed.table.items()], hide_index=True, key="pipeline.agreement")
averages = agreement.ratings_by_decision(view.rows, view.questions)
if averages:
    st.caption("Average rating per question (1–5) by decision")
    st.dataframe([{"Question": a.question,
                   **{d.capitalize(): ("—" if v is None else f"{v:.1f}") for d, v in a.averages.items()}}
                  for a in averages], hide_index=True, width="stretch", key="pipeline.ratings")
