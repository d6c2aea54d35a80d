"""Home: where things stand at a glance."""

import streamlit as st

from core import auth, health, labels
from core.agent import settings as agent_settings
from core.compliance import reports as compliance_reports
from core.people import demo
from core.review import overview, work_queue
from core.usage import budget
from core.usage.costs import money_text
from dashboard import ui
from dashboard.safe_text import md

user = ui.require_user("home")
db = ui.require_database()

st.title("Voice Screening Console")
st.caption(f"Signed in as {md(user.name)} ({labels.label(labels.Kind.ROLE, user.role).lower()}).")

counts = overview.counts(db)
zone = ui.viewer_zone(user)
queue = work_queue.work_queue(db, user, zone=zone)
cols = st.columns(4)
cols[0].metric("Open jobs", counts.jobs)
cols[1].metric("Awaiting review", queue.awaiting_review)
cols[2].metric("Calls in progress", len(queue.running))
cols[3].metric("Waiting for their time", len(queue.waiting), help="Retries, call-backs and calls "
               "scheduled for the calling window.")

currency = ui.settings().cost_currency
state = budget.budget_state(db, agent_settings.get_global_config(db).monthly_budget)
budget_line = (f"This month: {money_text(state.spent, currency)} spent, "
               f"{money_text(state.committed, currency)} committed of {money_text(state.budget, currency)}.")
if state.level == "ok":
    st.caption(budget_line)
else:
    st.warning(f"{budget_line} {state.message}")
st.caption(f"Worker last seen: {health.describe_age(health.last_heartbeat(db))}")


def _people_table(items: list[work_queue.Item], key: str, *, link: str) -> None:
    st.dataframe(
        [{"Candidate": i.name, "Job": i.job, "What": i.text,
          "Open": ui.call_link(i.call_id) if link == "call" and i.call_id
          else ui.address("jobs_candidates", candidate=i.candidate_id)} for i in items],
        hide_index=True, width="stretch", key=key,
        column_config={"Open": ui.link_column("Open", "Open call" if link == "call" else "Open candidate"),
                       "What": st.column_config.TextColumn(width="large")},
    )


def _calls(count: int, more: bool) -> str:
    """"3 calls", or "1000 or more calls" when the count stopped at its cap."""
    return f"{count} or more calls" if more else labels.counted(count, "call")


flags = compliance_reports.disclosure_flags(db, user, zone=zone)
if flags.count:
    st.subheader("Disclosure not found")
    many = _calls(flags.count, flags.more)
    st.warning(f"{many} of the last "
               f"{compliance_reports.FLAG_DAYS} days: the agent's first two turns did not contain "
               "every disclosure key phrase.", icon=":material/gpp_maybe:")
    st.dataframe(
        [{"Candidate": f.candidate, "Job": f.job, "Dialled": f.started, "Missing": f.missing,
          "Open": ui.call_link(f.call_id)} for f in flags.calls],
        hide_index=True, width="stretch", key="home.disclosure",
        column_config={"Open": ui.link_column("Open", "Open call")},
    )
else:
    st.caption(f"Disclosure: every checked call of the last {compliance_reports.FLAG_DAYS} days said it.")

stuck = compliance_reports.stuck_recording_deletions(db, user, zone=zone)
if stuck.count:
    st.subheader("Refused recordings still at Ultravox")
    many = _calls(stuck.count, stuck.more)
    st.error(f"{many}: the candidate refused the recording, but Ultravox has not deleted it yet. "
             "It is retried automatically; if this lasts, check Ultravox's status and the API key.",
             icon=":material/delete_forever:")
    st.dataframe(
        [{"Candidate": s.candidate, "Job": s.job, "Call ended": s.ended, "Tries": s.tries,
          "Last problem": s.problem, "Open": ui.call_link(s.call_id)} for s in stuck.calls],
        hide_index=True, width="stretch", key="home.stuck_deletions",
        column_config={"Open": ui.link_column("Open", "Open call")},
    )

if queue.awaiting_review:
    st.subheader("Awaiting review")
    for job in (j for j in queue.jobs if j.awaiting):
        with st.container(border=True):
            left, mid, right = st.columns([3, 1, 1])
            left.markdown(f"**{md(job.title)}** — {job.awaiting} awaiting review")
            if job.first_awaiting_call:
                with mid:
                    ui.page_link("call", "Start reviewing", {"call": job.first_awaiting_call},
                                 icon=":material/rate_review:")
            with right:
                ui.page_link("pipeline", "Pipeline", {"job": job.job_id}, icon=":material/filter_alt:")
if queue.asked_for_person:
    st.subheader("Asked for a person")
    st.caption("No AI call is placed to them for that job until someone allows it on the candidate page.")
    _people_table(queue.asked_for_person, "home.humans", link="candidate")
if queue.running or queue.waiting:
    st.subheader("Calls running and waiting")
    _people_table(queue.running + queue.waiting, "home.calls", link="call")
if queue.jobs:
    st.subheader("Jobs")
    for job in queue.jobs:
        left, right = st.columns([4, 1])
        left.markdown(f"**{md(job.title)}** · {md(work_queue.progress_sentence(job))}")
        with right:
            ui.page_link("pipeline", "Pipeline", {"job": job.job_id}, icon=":material/filter_alt:")
    if queue.more_jobs:
        st.caption(f"The {work_queue.MAX_JOBS} newest open jobs are shown; every job is on the "
                   "Pipeline page.")

if counts.jobs == 0:
    st.info(
        "Nothing here yet. Start with **Global settings** to shape the screening agent, then "
        "create a job and add candidates under **Jobs & candidates**."
    )

if ui.settings().is_sandbox and auth.can(user, auth.Action.LOAD_DEMO_DATA):
    with st.expander("Sandbox: demo data", expanded=counts.jobs == 0):
        st.caption("A demo job with one candidate per scripted sandbox outcome (answered, no answer, "
                   "busy, voicemail, opt-out, asks for a person, asks to be called back …). Loading it "
                   "again adds nothing.")
        if st.button("Load demo data", key="home.demo"):
            try:
                seed = demo.seed_demo(db, user)
            except (demo.DemoRefused, auth.PermissionDenied) as exc:
                st.error(md(str(exc)))
            else:
                ui.flash("home", f"Demo job ready with {len(seed.candidates)} candidates: "
                         "see Jobs & candidates.")
                st.rerun()
