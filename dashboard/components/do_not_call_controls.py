"""Put a candidate on the do-not-call list, or lift it: what the candidate asked for on a call is
lifted only by an admin, in a confirmation quoting that call, with a reason (core.people.candidates)."""

from __future__ import annotations

import streamlit as st

from core import auth
from core.auth import Role, User
from core.db import Database
from core.people import candidates
from core.review import candidate_view
from dashboard import ui
from dashboard.safe_text import md

_PAGE = "jobs_candidates"


def _lift_spoken(db: Database, user: User, candidate_id: str, *, key: str) -> None:
    request = candidate_view.opt_out_request(db, candidate_id)
    if request is None:
        return
    opened = f"{key}.open"
    if not st.session_state.get(opened):
        if st.button("Lift the candidate's request…", key=f"{key}.lift"):
            st.session_state[opened] = True
            st.rerun()
        return
    # A confirmation panel rather than st.dialog: it stays open across the reruns of the form.
    with st.container(border=True):
        st.subheader("Lift the candidate's own do-not-call request")
        when = f"{request.at:%Y-%m-%d %H:%M} UTC" if request.at else "an unknown time"
        st.write(f"On call **{md(request.call_id)}** for **{md(request.job)}**, on {when}, the candidate "
                 "asked not to be called again:")
        if request.words:
            st.text(f"“{request.words}”")
        else:
            st.caption("Their words are no longer kept (the transcript was purged or never fetched).")
        ui.page_link("call", "Open that call", {"call": request.call_id}, icon=":material/forum:")
        with st.form(f"{key}.confirm"):
            reason = st.text_area("Why may they be called again? (kept in the audit log)", key=f"{key}.why")
            sure = st.checkbox("The candidate has since agreed to be called, and I am lifting their request",
                               key=f"{key}.sure")
            if st.form_submit_button("Lift their request", type="primary"):
                if not sure:
                    st.error("Tick the confirmation first.")
                else:
                    try:
                        candidates.lift_spoken_do_not_call(db, user, candidate_id,
                                                           call_id=request.call_id, reason=reason)
                        st.session_state.pop(opened, None)
                        ui.flash(_PAGE, "The candidate's do-not-call request was lifted.")
                        st.rerun()
                    except (candidates.CandidateError, auth.PermissionDenied) as exc:
                        st.error(md(str(exc)))
        if st.button("Cancel", key=f"{key}.cancel"):
            st.session_state.pop(opened, None)
            st.rerun()


def show(db: Database, user: User, candidate_id: str, *, key: str) -> None:
    """The do-not-call controls of one candidate, for a user who may edit candidates."""
    cand = candidates.get_candidate(db, candidate_id)
    if cand is None:
        return
    if cand.do_not_call and cand.do_not_call_call_id:
        if user.role is Role.ADMIN:
            _lift_spoken(db, user, candidate_id, key=key)
        else:
            st.info("The candidate asked on a call not to be called again: only an admin can lift that.")
        return
    with st.form(f"{key}.form"):
        label = "Lift the do-not-call" if cand.do_not_call else "Do not call this candidate"
        change = st.checkbox(label, key=f"{key}.change")
        why = st.text_input("Reason", key=f"{key}.reason")
        if st.form_submit_button("Save do-not-call state") and change:
            try:
                candidates.set_do_not_call(db, user, candidate_id, not cand.do_not_call, why)
                ui.flash(_PAGE, "Do-not-call state saved.")
                st.rerun()
            except (candidates.CandidateError, auth.PermissionDenied) as exc:
                st.error(md(str(exc)))
