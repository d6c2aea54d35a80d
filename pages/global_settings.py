"""Global settings: the voice agent's configuration for every job, with history and restore."""

import streamlit as st

from core.agent import effective as agent_effective
from core.agent import settings as agent_settings
from core.agent import validation as agent_validation
from core.agent import voice_catalog
from core.auth import Action, can
from core.errors import UserError
from dashboard import ui
from dashboard.components import config_fields, config_history

user = ui.require_user("global_settings")
db = ui.require_database()

st.title("Global settings")
st.caption("How the AI screening agent sounds and behaves on every call. "
           "A job can override any of these on the Job settings page.")

stored = agent_settings.load_global(db)
editable = can(user, Action.EDIT_GLOBAL_SETTINGS)
config_fields.sync("global_settings.form", stored.version)
config_fields.sync("global_settings.history", stored.version)

if stored.version:
    st.caption(f"Version {stored.version}, saved by {stored.updated_by} on "
               f"{stored.updated_at:%Y-%m-%d %H:%M} UTC.")
else:
    st.caption("These are the shipped defaults; nothing has been saved yet.")
if not editable:
    st.info("Read only: only admins can change the global settings, because they apply to "
            "every job's calls. Ask an admin, or override settings for one job on the Job "
            "settings page.", icon=":material/lock:")

library = voice_catalog.voice_library(db)
if library.error and not library.available:
    st.warning(f"The voice list is unavailable ({library.error}); type a voice name instead.")
config_fields.placeholders_help()

pending_key = "global_settings.pending"
with st.form("global_settings.form"):
    values = config_fields.show(
        "global_settings.form", agent_effective.as_plain(stored.config), disabled=not editable,
        voices=[voice_catalog.voice_ref(v, library.voices) for v in library.voices], models=library.models,
    )
    submitted = st.form_submit_button("Review changes", type="primary", disabled=not editable)

if submitted:
    try:
        changes = agent_settings.preview_global_save(db, values)
        if changes:
            st.session_state[pending_key] = {"values": values, "changes": changes,
                                             "base": stored.version}
        else:
            st.session_state.pop(pending_key, None)
            st.info("Nothing changed.")
    except agent_validation.ConfigValidationError as exc:
        st.session_state.pop(pending_key, None)
        st.error("The settings were not saved:\n\n" + "\n".join(f"- {m}" for m in exc.messages))

pending = st.session_state.get(pending_key)
if pending:
    st.subheader("Confirm your changes")
    st.dataframe(config_fields.changes_table(pending["changes"]), hide_index=True, width="stretch")
    c1, c2 = st.columns(2)
    if c1.button("Save these changes", type="primary", key="global_settings.confirm"):
        try:
            result = agent_settings.save_global_config(db, user, pending["values"],
                                                       base_version=pending["base"])
            st.session_state.pop(pending_key, None)
            ui.flash("global_settings", f"Global settings saved as version {result.version}.")
            st.rerun()
        except UserError as exc:
            st.error(str(exc))
    if c2.button("Cancel", key="global_settings.cancel"):
        st.session_state.pop(pending_key, None)
        st.rerun()

st.header("History")
config_history.show("global_settings.history", db, user, agent_settings.GLOBAL_SCOPE, can_restore=editable)
