"""History of a settings scope with diffs, and restore with confirmation (global and job pages)."""

from __future__ import annotations

import streamlit as st

from core.agent import effective as agent_effective
from core.agent import settings as agent_settings
from core.auth import User
from core.db import Database
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
    for entry in history:
        when = entry.at.strftime("%Y-%m-%d %H:%M UTC") if entry.at else "—"
        note = f" · restored version {entry.restored_from}" if entry.restored_from else ""
        lines = agent_effective.change_lines(entry.changes)
        fields = ", ".join(line.setting for line in lines) or "no field changes"
        with st.expander(f"Version {entry.version} · {when} · {entry.actor}{note} — {fields}"):
            st.dataframe(changes_table(entry.changes), hide_index=True, width="stretch")
    if not can_restore:
        st.caption("Your role cannot restore versions.")
        return
    versions = [entry.version for entry in history[1:]]
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
