"""Global settings: the voice agent's configuration for every job, with history and restore."""

import streamlit as st

from core.agent import effective as agent_effective
from core.agent import settings as agent_settings
from core.agent import validation as agent_validation
from core.agent import voice_catalog
from core.auth import Action, can
from dashboard import ui
from dashboard.components import config_fields, config_history

user = ui.require_user("global_settings")
db = ui.require_database()

st.title("Global settings")
st.caption("How the AI screening agent sounds and behaves on every call. "
           "A job can override any of these on the Job settings page.")

FORM = "global_settings.form"
stored = agent_settings.load_global(db)
editable = can(user, Action.EDIT_GLOBAL_SETTINGS)
config_fields.sync(FORM, stored.version)
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
config_fields.section_links()

stored_plain = agent_effective.as_plain(stored.config)
seed = config_fields.draft_seed("global_settings", stored_plain, stored.version, f"{FORM}.temperature")
top = st.container()
values = config_fields.show(
    FORM, seed, disabled=not editable,
    voices=[voice_catalog.voice_ref(v, library.voices) for v in library.voices], models=library.models,
)

try:
    changes, problems = agent_settings.preview_global_save(db, values), []
except agent_validation.ConfigValidationError as exc:
    changes, problems = None, exc.messages
dirty = bool(changes) if changes is not None else values != stored_plain
draft = editable and config_fields.keep_draft("global_settings", values, stored.version, dirty)


def _discard() -> None:
    config_fields.discard_draft("global_settings", FORM)
    st.session_state.pop("global_settings.pending", None)


bar = {"editable": editable, "dirty": dirty, "problems": problems, "draft": draft, "on_discard": _discard}
with top:
    clicked_top = config_fields.save_bar("global_settings", "top", **bar)
clicked_bottom = config_fields.save_bar("global_settings", "bottom", **bar)

ZONE_NOTE = ("A new organisation time zone moves each call to its day in that zone on the Usage "
             "page and starts the monthly budget on the 1st there; saving recounts the figures, "
             "which takes a few seconds.")


def _save(pending: dict) -> int | None:
    result = agent_settings.save_global_config(db, user, pending["values"], base_version=pending["base"])
    if result.note:
        st.session_state["global_settings.note"] = result.note  # shown after the rerun
    return result.version


pending_key = "global_settings.pending"
if note := st.session_state.pop("global_settings.note", None):
    st.warning(note, icon=":material/schedule:")
if clicked_top or clicked_bottom:
    if problems:
        st.session_state[pending_key] = {"where": "top" if clicked_top else "bottom", "problems": problems}
    elif changes:
        st.session_state[pending_key] = {"values": values, "changes": changes, "base": stored.version,
                                         "where": "top" if clicked_top else "bottom"}

pending = st.session_state.get(pending_key)
if pending and pending.get("values", values) != values:  # edited since: review again
    pending = st.session_state.pop(pending_key, None) and None
if pending and pending.get("base", stored.version) == stored.version:
    with top if pending["where"] == "top" else st.container():
        if "problems" in pending:
            st.error("The settings were not saved. Fix these first (each is marked at its field):\n\n"
                     + "\n".join(f"- {m}" for m in pending["problems"]))
            st.session_state.pop(pending_key, None)
        else:
            config_fields.confirm_changes(
                "global_settings", pending_key, pending["changes"], what="Global settings",
                save=lambda: _save(pending), clear=("global_settings.draft",),
                note=ZONE_NOTE if "organisation_zone" in pending["changes"] else "")

st.header("History")
config_history.show("global_settings.history", db, user, agent_settings.GLOBAL_SCOPE, can_restore=editable)
