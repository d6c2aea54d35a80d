"""Jobs & candidates."""

import streamlit as st

from dashboard import ui

ui.require_user("jobs_candidates")
st.title("Jobs & candidates")
ui.not_built_yet("Managing jobs and candidates", 5)
