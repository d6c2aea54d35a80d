"""Usage & cost."""

import streamlit as st

from dashboard import ui

ui.require_user("usage")
st.title("Usage & cost")
ui.not_built_yet("Usage and cost charts", 8)
