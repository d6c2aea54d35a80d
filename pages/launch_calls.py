"""Launch calls."""

import streamlit as st

from dashboard import ui

ui.require_user("launch_calls")
st.title("Launch calls")
ui.not_built_yet("Launching screening calls", 5)
