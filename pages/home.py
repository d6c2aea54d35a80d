"""Home: where things stand at a glance."""

import streamlit as st

from core import health
from core.review import overview
from dashboard import ui
from dashboard.safe_text import md

user = ui.require_user("home")
db = ui.require_database()

st.title("Voice Screening Console")
st.caption(f"Signed in as {md(user.name)} ({user.role.value}).")

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
