"""Voices: the Ultravox voice library with previews; pick one for all jobs or for one job."""

import streamlit as st

from core import timezones
from core.agent import settings as agent_settings
from core.agent import voice_catalog, voice_use
from core.auth import Action, can
from core.errors import UserError
from core.people import jobs
from dashboard import ui
from dashboard.safe_text import md

user = ui.require_user("voices")
db = ui.require_database()

_SHOWN = 60  # cards rendered at once; narrow the search to see others


@st.cache_data(ttl=3600, max_entries=64, show_spinner="Fetching the preview…")
def _preview(voice_id: str) -> bytes | None:
    # Fetched server-side: the browser gets bytes, never the provider URL or key.
    return voice_catalog.voice_preview(ui.database(), voice_id)


st.title("Voices")

refresh = st.button("Refresh the list from Ultravox", key="voices.refresh")
library = voice_catalog.voice_library(db, refresh=refresh)
if not library.available:
    st.error(f"No voice list is available: {library.error or 'Ultravox returned no voices'}. "
             "The settings keep their current voice; try again later.")
    st.stop()
if library.stale:
    st.warning(f"Ultravox is unavailable — showing the last known list. {library.error or ''}",
               icon=":material/history:")
elif library.fetched_at:
    st.caption(f"List fetched {timezones.readable(library.fetched_at, ui.viewer_zone(user))}.")

current_global = agent_settings.get_global_config(db).voice
job_list = jobs.list_jobs(db)
titles = {j.id: jobs.label(j) for j in job_list}


# "Use for global" asks first, in a box at the top that names what changes (kept in the session,
# so the answer survives the rerun that the Yes button causes).
pending = st.session_state.get("voices.pending_global")
if pending:
    with st.container(border=True):
        st.markdown(f"**Use {md(pending['name'])} for every job?**")
        st.write(md(voice_use.change_sentence(voice_use.voice_use(db, job_list), pending["name"])))
        yes, no = st.columns([1, 4])
        if yes.button("Yes, use it for global", type="primary", key="voices.global_yes"):
            st.session_state.pop("voices.pending_global", None)
            try:
                agent_settings.use_voice_globally(db, user, pending["ref"])
            except UserError as exc:
                st.error(str(exc))
            else:
                ui.flash("voices", f"{md(pending['name'])} is now the global voice.")
                st.rerun()
        if no.button("Cancel", key="voices.global_no"):
            st.session_state.pop("voices.pending_global", None)
            st.rerun()

c1, c2, c3 = st.columns([2, 1, 1])
search = c1.text_input("Search", key="voices.search", placeholder="Name or description")
languages = sorted({v.primary_language or "unknown" for v in library.voices})
providers = sorted({v.provider or "unknown" for v in library.voices})
chosen_langs = c2.multiselect("Language", languages, key="voices.languages")
chosen_provs = c3.multiselect("Provider", providers, key="voices.providers")
job_id = st.selectbox("Job for “Use for this job”", list(titles), format_func=titles.get,
                      key="voices.job", index=None, placeholder="Pick a job to enable the button")

found = voice_catalog.filter_voices(library.voices, search=search, languages=chosen_langs,
                                    providers=chosen_provs)
job_voice = agent_settings.job_effective_config(db, job_id).voice if job_id else None
st.caption(f"{len(found)} of {len(library.voices)} voices · global voice: **{md(current_global)}**"
           + (f" · voice of {md(titles[job_id])}: **{md(job_voice)}**" if job_id and job_voice else ""))
if not found:
    st.info("No voice matches these filters. Clear the search or pick other languages.")

may_global = can(user, Action.EDIT_GLOBAL_SETTINGS)
may_job = can(user, Action.EDIT_JOB_SETTINGS)
for voice in found[:_SHOWN]:
    ref = voice_catalog.voice_ref(voice, library.voices)
    with st.container(border=True):
        head, actions = st.columns([3, 2])
        with head:
            mark = " · :green-badge[global voice]" if voice.matches(current_global) else ""
            if job_voice and voice.matches(job_voice):
                mark += " · :blue-badge[this job's voice]"
            st.markdown(f"**{md(voice.name)}**{mark}  \n"
                        f"{md(voice.language_label or voice.primary_language or '')}"
                        f" · {md(voice.provider or 'unknown provider')}")
            if voice.description:
                st.caption(md(voice.description))
            if st.session_state.get("voices.playing") == voice.voice_id:
                audio = _preview(voice.voice_id)
                if audio:
                    st.audio(audio, format="audio/wav")
                else:
                    st.caption("No preview is available for this voice right now.")
        with actions:
            if st.button("Preview", key=f"voices.preview.{voice.voice_id}", icon=":material/play_arrow:"):
                st.session_state["voices.playing"] = voice.voice_id
                st.rerun()
            if st.button("Use for global", key=f"voices.global.{voice.voice_id}", disabled=not may_global,
                         help=None if may_global else "Only admins change the global settings."):
                st.session_state["voices.pending_global"] = {"name": voice.name, "ref": ref}
                st.rerun()
            if st.button("Use for this job", key=f"voices.job.{voice.voice_id}",
                         disabled=not (may_job and job_id)):
                try:
                    agent_settings.use_voice_for_job(db, user, job_id, ref)
                    st.toast(f"{md(voice.name)} is now the voice of {md(titles[job_id])}.")
                except UserError as exc:
                    st.error(str(exc))
if len(found) > _SHOWN:
    st.caption(f"Showing the first {_SHOWN}; narrow the search to see the others.")
