"""An admin's access-request download and erasure of one candidate (core.privacy): the erasure in a
confirmation panel naming what goes, with a reason and the candidate's name typed again."""

from __future__ import annotations

import streamlit as st

from core import auth, labels
from core.auth import User
from core.db import Database
from core.people import candidates
from core.privacy import access_export, erasure
from dashboard import ui
from dashboard.safe_text import md

_PAGE = "jobs_candidates"
_WHAT_GOES = (
    "their name, phone number, email, notes, time zone and place;",
    "every call's transcript, recording, summaries, answers, review and the texts the agent was given;",
    "the webhooks and tool requests stored for those calls, and their mentions in the audit log;",
    "the calls at Ultravox and Twilio (deleted there too).",
)


def _download(db: Database, user: User, candidate_id: str, *, key: str) -> None:
    if st.button("Download everything we hold (ZIP)", key=f"{key}.prepare", icon=":material/download:"):
        try:
            with st.spinner("Collecting the candidate's data and recordings…"):
                made = access_export.export_candidate(db, user, candidate_id)
        except (access_export.ExportRefused, auth.PermissionDenied) as exc:
            st.error(md(str(exc)))
            return
        st.download_button("Save the ZIP", made.content, file_name=made.file_name, mime="application/zip",
                           key=f"{key}.save", on_click="ignore", type="primary")
        held = f"{labels.counted(made.calls, 'call')} and {labels.counted(made.recordings, 'recording')}"
        st.caption(f"{held}. The file holds personal data: keep it safe and delete it once it has been "
                   "sent.")


def _erase_panel(db: Database, user: User, candidate_id: str, *, key: str) -> None:
    opened = f"{key}.open"
    if not st.session_state.get(opened):
        if st.button("Erase this candidate…", key=f"{key}.erase", icon=":material/delete_forever:"):
            st.session_state[opened] = True
            st.rerun()
        return
    cand = candidates.get_candidate(db, candidate_id)
    if cand is None:
        st.session_state.pop(opened, None)
        return
    # A confirmation panel rather than st.dialog: it stays open across the reruns of the form.
    with st.container(border=True):
        st.subheader("Erase this candidate")
        st.write("This cannot be undone. It removes, here and at the call providers:")
        st.markdown("\n".join(f"- {line}" for line in _WHAT_GOES))
        st.caption("What stays: a record that an erasure happened (when, by whom, why, how much was "
                   "removed), the calls' outcome and cost without any content, and — if they asked not "
                   "to be called — a one-way fingerprint of their number so it is never called again. "
                   "Downloads made earlier and database backups are out of reach.")
        with st.form(f"{key}.confirm"):
            reason = st.text_input("Why? (kept after the erasure: do not write their name, number or email)",
                                   key=f"{key}.why")
            typed = st.text_input(f"Type the candidate's name ({md(cand.name)}) to confirm",
                                  key=f"{key}.name")
            if st.form_submit_button("Erase for good", type="primary"):
                try:
                    done = erasure.erase_candidate(db, user, candidate_id, reason=reason, confirmed=True,
                                                   typed_name=typed)
                except (erasure.ErasureRefused, auth.PermissionDenied) as exc:
                    st.error(md(str(exc)))
                else:
                    # Cached reads (recording checks) name the candidate's calls: drop them all.
                    st.cache_data.clear()
                    st.session_state.pop(opened, None)
                    ui.flash(_PAGE, "The candidate was erased." + (
                        " Erasure pending at the providers: the worker keeps retrying."
                        if done.pending_at_providers else ""))
                    st.rerun()
        if st.button("Cancel", key=f"{key}.cancel"):
            st.session_state.pop(opened, None)
            st.rerun()


def show(db: Database, user: User, candidate_id: str, *, key: str) -> None:
    """The access-request download and the erasure, for admins only (nothing for other roles)."""
    if not auth.can(user, auth.Action.ERASE_CANDIDATES):
        return
    opened = bool(st.session_state.get(f"{key}.erase.open"))
    with st.expander("Candidate's data: download or erase", expanded=opened):
        _download(db, user, candidate_id, key=f"{key}.export")
        _erase_panel(db, user, candidate_id, key=f"{key}.erase")
