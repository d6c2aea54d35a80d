"""Global settings."""

import streamlit as st

from dashboard import ui

ui.require_user("global_settings")
st.title("Global settings")
ui.not_built_yet("Editing the global voice-agent settings", 4)
