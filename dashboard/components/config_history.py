"""History of a settings scope with diffs, and restore with confirmation (global and job pages)."""

from __future__ import annotations

import streamlit as st
from pymongo.database import Database

from core.agent import settings as agent_settings
from core.agent import validation as agent_validation
from core.auth import User
from core.errors import UserError
from dashboard import ui
from dashboard.components.config_fields import changes_table


def show(key: str, db: Database, user: User, scope: str, *, can_restore: bool) -> None:
    """List the saved versions of `scope`, newest first, each with its changes; offer restore."""
    history = agent_settings.list_history(db, scope, limit=50)
    if not history:
        st.caption("No changes saved yet: the settings are the shipped defaults."
                   if scope == agent_settings.GLOBAL_SCOPE else "No overrides saved for this job yet.")
        return
    for doc in history:
        when = doc["at"].strftime("%Y-%m-%d %H:%M UTC")
        note = f" · restored version {doc['restored_from']}" if doc.get("restored_from") else ""
        fields = ", ".join(agent_validation.FIELD_LABELS.get(f, f) for f in doc.get("changes",
                                                                                    {})) or "no field changes"
        with st.expander(f"Version {doc['version']} · {when} · {doc['actor']}{note} — {fields}"):
            st.dataframe(changes_table(doc.get("changes", {})), hide_index=True, width="stretch")
    if not can_restore:
        st.caption("Your role cannot restore versions.")
        return
    versions = [d["version"] for d in history[1:]]
    if not versions:
        return
    c1, c2 = st.columns([2, 3])
    chosen = c1.selectbox("Restore version", versions, key=f"{key}.version")
    confirm = c2.checkbox(f"Yes, make version {chosen} the current settings (saved as a new version)",
                          key=f"{key}.confirm")
    if st.button("Restore", key=f"{key}.restore", disabled=not confirm):
        try:
            result = agent_settings.restore_version(db, user, scope, int(chosen))
            ui.flash(key.split(".")[0], f"Version {chosen} restored as version {result.version}.")
            st.rerun()
        except UserError as exc:
            st.error(str(exc))
