"""Voices."""

import streamlit as st

from dashboard import ui

ui.require_user("voices")
st.title("Voices")
ui.not_built_yet("The voice library with previews", 4)
