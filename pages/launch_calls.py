"""Launch calls: one call now, or a batch the worker dispatches; live status and progress."""

import streamlit as st

from core import auth, labels
from core.calling import batches, launch, outcome, refusals, schedule
from core.calling import store as call_store
from core.documents.batch import BatchStatus
from core.documents.status import CallStatus
from core.people import candidates, jobs
from dashboard import ui
from dashboard.components import candidate_detail
from dashboard.safe_text import md

user = ui.require_user("launch_calls")
db = ui.require_database()

st.title("Launch calls")
if ui.settings().is_sandbox:
    st.caption("Sandbox: numbers +1 NPA 555-01XX pick the outcome (50 no answer, 51 busy, "
               "52 voicemail, 53 rejected, 54 dropped, 55 opt-out, 56 corrects an answer, "
               "57 asks for a person, 58 asks to be called back).")

open_jobs = jobs.list_jobs(db)
if not open_jobs:
    st.info("There is no open job. Create one under Jobs & candidates.")
    st.stop()
job_label = {j.id: jobs.label(j) for j in open_jobs}
job_id = st.selectbox("Job", list(job_label), format_func=job_label.get, key="launch_calls.job")
people = candidates.list_candidates(db, user, job_id=job_id, limit=2000)
person_label = {c.id: candidates.label(c) for c in people}

st.subheader("One call now")
if not people:
    st.info("This job has no candidates yet.")
else:
    with st.form("launch_calls.one"):
        who = st.selectbox("Candidate", list(person_label), format_func=person_label.get,
                           key="launch_calls.candidate")
        if st.form_submit_button("Call now", type="primary"):
            try:
                result = launch.launch_call(db, user, who, job_id)
                st.session_state["launch_calls.call_id"] = result.call.id
                if result.created:
                    st.toast("Call failed." if result.call.status == CallStatus.FAILED else "Call placed.")
                else:
                    st.info("This candidate already has an open call for this job; showing it "
                            "(nothing was dialled again).")
            except (refusals.LaunchRefused, auth.PermissionDenied) as exc:
                st.error(f"Not called: {md(str(exc))}")
                if getattr(exc, "code", None) == "calling_hours":
                    st.session_state["launch_calls.offer_schedule"] = {"candidate": who, "job": job_id}
    offer = st.session_state.get("launch_calls.offer_schedule")
    offered = bool(offer) and offer["job"] == job_id and offer["candidate"] == who
    if offered and st.button("Call when the window opens", key="launch_calls.schedule",
                             icon=":material/schedule:"):
        st.session_state.pop("launch_calls.offer_schedule", None)
        try:
            result = schedule.call_when_window_opens(db, user, who, job_id)
        except (refusals.LaunchRefused, auth.PermissionDenied) as exc:
            st.error(f"Not scheduled: {md(str(exc))}")
        else:
            st.session_state["launch_calls.call_id"] = result.call.id
            st.success("Scheduled: the worker places the call when the candidate's calling window "
                       "opens, after checking everything again." if result.created else
                       "This candidate already has an open call for this job (nothing new was scheduled).")


@st.fragment(run_every=2)
def _live_call() -> None:
    call_id = st.session_state.get("launch_calls.call_id")
    if not call_id:
        return
    call = call_store.get_call(db, call_id)
    if call is None:
        return
    who = person_label.get(call.candidate_id, "The candidate")
    st.markdown(f"**{md(who)}** — {labels.label(labels.Kind.CALL_STATUS, call.status).lower()} · "
                f"{md(outcome.outcome_text(call))}")
    ui.page_link("call", "Open the call", {"call": call.id}, icon=":material/forum:")
    if call.calling_window and call.calling_window.reason:
        st.caption(md(call.calling_window.reason))


_live_call()

if people:
    with st.expander("Candidate details"):
        candidate_detail.show(db, st.session_state.get("launch_calls.candidate") or people[0].id,
                              user, key="launch_calls.detail")

st.divider()
st.subheader("Batch")
mode = st.radio("Who", ["All not yet screened", "Selected candidates"], horizontal=True,
                key="launch_calls.mode")
chosen = None
if mode == "Selected candidates":
    chosen = st.multiselect("Candidates", list(person_label), format_func=person_label.get,
                            key="launch_calls.chosen")


@st.dialog("Queue a batch of calls")
def _confirm_batch() -> None:
    count = "all candidates not yet screened" if chosen is None else labels.counted(len(chosen), "candidate")
    st.write(f"Queue calls to {count} for **{md(job_label[job_id])}**? The worker dials them within "
             "calling hours, the rate limits and the budget.")
    if st.button("Yes, queue them", type="primary", key="launch_calls.batch_yes"):
        try:
            batch = batches.create_batch(db, user, job_id, chosen)
            st.session_state["launch_calls.batch_id"] = batch.id
            queued = labels.counted(batch.queued, "call")
            ui.flash("launch_calls", f"{queued} queued, {batch.skipped_count} skipped.")
            st.rerun()
        except (batches.BatchError, auth.PermissionDenied) as exc:
            st.error(md(str(exc)))


if st.button("Queue batch…", disabled=chosen is not None and not chosen, key="launch_calls.queue"):
    _confirm_batch()

recent_batches = batches.list_batches(db, job_id=job_id)
if recent_batches:
    ids = [b.id for b in recent_batches]
    current = st.session_state.get("launch_calls.batch_id")
    # No status in the label: it would go stale; the live progress below shows it.
    batch_label = {b.id: b.name for b in recent_batches}
    batch_id = st.selectbox("Batch", ids, index=ids.index(current) if current in ids else 0,
                            format_func=batch_label.get, key="launch_calls.batch")

    @st.dialog("Cancel the batch")
    def _confirm_cancel() -> None:
        st.write("Cancel every call of this batch that has not been dialled yet? Live calls finish.")
        if st.button("Yes, cancel", type="primary", key="launch_calls.cancel_yes"):
            batches.cancel_batch(db, user, batch_id)
            ui.flash("launch_calls", "Batch canceled.")
            st.rerun()

    @st.fragment(run_every=2)
    def _progress() -> None:
        p = batches.batch_progress(db, batch_id)
        batch = p.batch
        if batch is None:
            st.warning("That batch no longer exists.")
            return
        st.progress(p.fraction, text=f"{p.finished} of {p.total} candidates done · "
                                     f"batch: {labels.label(labels.Kind.BATCH_STATUS, batch.status).lower()}")
        if batch.pause_reason and batch.status in (BatchStatus.PAUSED, BatchStatus.CANCELED):
            st.warning(batch.pause_reason)
        if batch.status in (BatchStatus.RUNNING, BatchStatus.PAUSED) and \
                (waiting := batches.waiting_sentence(db, batch_id)):
            st.info(md(waiting), icon=":material/schedule:")
        shown = {labels.label(labels.Kind.CALL_STATUS, k): v for k, v in p.counts.items() if v}
        if shown:
            cols = st.columns(len(shown))
            for col, (label, value) in zip(cols, shown.items(), strict=True):
                col.metric(label, value)
        if p.held:
            st.info(f"{labels.counted(p.held, 'call')} held for a person:")
            st.dataframe([{"Candidate": person_label.get(c.candidate_id, "—"), "Reason": c.hold_reason,
                           "Call": ui.call_link(c.id)}
                          for c in batches.held_calls(db, batch_id)], hide_index=True,
                         column_config={"Call": ui.CALL_LINK_COLUMN})
            if st.button("Release held calls", key="launch_calls.release"):
                released = batches.release_holds(db, user, batch_id)
                st.toast(f"{labels.counted(released, 'call')} released.")
        b1, b2, b3 = st.columns(3)
        try:
            if batch.status == BatchStatus.RUNNING and b1.button("Pause", key="launch_calls.pause"):
                batches.pause_batch(db, user, batch_id)
                st.toast("Batch paused.")
                st.rerun(scope="fragment")
            if batch.status == BatchStatus.PAUSED and b2.button("Resume", key="launch_calls.resume"):
                batches.resume_batch(db, user, batch_id)
                st.toast("Batch resumed.")
                st.rerun(scope="fragment")
        except (batches.BatchError, auth.PermissionDenied) as exc:
            st.error(md(str(exc)))
        if batch.status in (BatchStatus.RUNNING, BatchStatus.PAUSED) and \
                b3.button("Cancel…", key="launch_calls.cancel"):
            _confirm_cancel()

    _progress()
