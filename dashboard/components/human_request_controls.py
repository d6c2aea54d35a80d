"""The candidate's requests for a person (made to the agent on a call), and lifting one: no AI
call is placed to them for that job until a recruiter or admin allows it again, with a reason."""

from __future__ import annotations

import streamlit as st

from core import auth
from core.auth import User
from core.db import Database
from core.people import candidates
from core.review import candidate_view
from dashboard import ui
from dashboard.safe_text import md

_PAGE = "jobs_candidates"


def show(db: Database, user: User, candidate_id: str, *, key: str) -> None:
    """Each job the candidate asked for a person on, with a form to allow AI calls again."""
    requests = candidate_view.human_requests(db, candidate_id)
    if not requests:
        return
    st.subheader("Asked for a person")
    for request in requests:
        with st.container(border=True):
            when = f"{request.at:%Y-%m-%d %H:%M} UTC" if request.at else "an unknown time"
            st.write(f"For **{md(request.job)}**, on {when}, the candidate asked for a person: "
                     f"{md(request.reason) or '(no reason given)'}")
            if request.call_id:
                ui.page_link("call", "Open that call", {"call": request.call_id},
                             icon=":material/forum:")
            with st.form(f"{key}.{request.job_id}"):
                reason = st.text_input("Why may the AI call them again for this job? (kept in the "
                                       "audit log)", key=f"{key}.{request.job_id}.why")
                if st.form_submit_button("Allow AI calls again for this job"):
                    try:
                        candidates.lift_human_request(db, user, candidate_id, request.job_id, reason)
                        ui.flash(_PAGE, "AI calls are allowed again for that job.")
                        st.rerun()
                    except (candidates.CandidateError, auth.PermissionDenied) as exc:
                        st.error(md(str(exc)))
