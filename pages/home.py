"""Home: where things stand at a glance."""

import streamlit as st

from core import auth, health, labels
from core.people import demo
from core.review import overview
from dashboard import ui
from dashboard.safe_text import md

user = ui.require_user("home")
db = ui.require_database()

st.title("Voice Screening Console")
st.caption(f"Signed in as {md(user.name)} ({labels.label(labels.Kind.ROLE, user.role).lower()}).")

counts = overview.counts(db)
cols = st.columns(4)
cols[0].metric("Open jobs", counts.jobs)
cols[1].metric("Candidates", counts.candidates)
cols[2].metric("Calls in progress", counts.calls_open)
cols[3].metric("Calls finished", counts.calls_done)

st.caption(f"Worker last seen: {health.describe_age(health.last_heartbeat(db))}")

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
