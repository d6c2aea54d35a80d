"""Streamlit dashboard, webhook sidecar and worker entry points."""
