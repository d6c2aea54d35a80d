"""Calls & transcripts."""

import streamlit as st

from dashboard import ui

ui.require_user("transcripts")
st.title("Calls & transcripts")
ui.not_built_yet("Reviewing calls", 7)
