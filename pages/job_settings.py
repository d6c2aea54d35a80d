"""Job settings."""

import streamlit as st

from dashboard import ui

ui.require_user("job_settings")
st.title("Job settings")
ui.not_built_yet("Per-job overrides of the agent settings", 4)
