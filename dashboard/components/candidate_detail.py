"""Candidate detail: profile, do-not-call state, jobs and every call, as the user may see it.

Everything here is candidate- or user-supplied text: Markdown contexts get `md`, tables get data.
"""

from __future__ import annotations

import streamlit as st

from core import labels, timezones
from core.auth import User
from core.db import Database
from core.privacy import erasure
from core.review import candidate_view
from core.review.models import CandidateView
from dashboard import ui
from dashboard.components import legal_hold_controls
from dashboard.safe_text import md


def show(db: Database, candidate_id: str, user: User, *, key: str) -> CandidateView | None:
    """Render one candidate; returns the candidate view (None and a message when unknown)."""
    detail = candidate_view.candidate_detail(db, candidate_id, user)
    if detail is None:
        erased = erasure.erasure_state(db, candidate_id)
        if erased is None:
            st.warning("No candidate with that id.")
        else:
            when = timezones.readable(erased["erased_at"], ui.viewer_zone(user))
            st.info(f"This candidate was erased on {when} by {md(erased['erased_by'])}: nothing about "
                    "them is kept.")
            if erased.get("state") == "pending_providers":
                st.warning("Erasure pending at the providers: the calls are still being deleted at "
                           "Ultravox or Twilio; the worker keeps retrying.")
        return None
    cand = detail.candidate
    st.subheader(md(cand.name))
    dnc = detail.do_not_call
    if dnc.active:
        st.error(
            f"Do not call — {md(dnc.reason or 'no reason recorded')}"
            + (f" (since {dnc.at:%Y-%m-%d})" if dnc.at else ""),
            icon=":material/phone_disabled:",
        )
        if dnc.call_id:
            ui.page_link(
                "call", "The call where they asked", {"call": dnc.call_id}, icon=":material/forum:"
            )
    legal_hold_controls.show(db, user, "candidate", candidate_id, key=f"{key}.hold")
    cols = st.columns(4)
    cols[0].metric("Phone", md(cand.phone or "—"))
    cols[1].metric("Consent", labels.yes_no(cand.consent))
    cols[2].metric("Calls", len(detail.calls))
    cols[3].metric("Jobs", len(detail.jobs))
    zone = f"Time zone used for calls: {md(detail.zone)}"
    if cand.redacted:
        st.caption(f"Email and notes are not shown for your role · {zone}")
    else:
        st.caption(f"Email: {md(cand.email or '—')} · {zone}")
        if cand.notes:
            st.caption("Notes:")
            st.text(cand.notes)
    st.markdown("**Jobs:** " + (", ".join(
        f"{md(j.title)} ({labels.label(labels.Kind.JOB_STATUS, j.status).lower()})" for j in detail.jobs
    ) or "none"))
    if detail.calls:
        shown_in = ui.viewer_zone(user)
        st.dataframe(
            [
                {
                    "Job": c.job,
                    "Attempt": c.attempt,
                    "Status": labels.label(labels.Kind.CALL_STATUS, c.status),
                    "Outcome": c.outcome,
                    "Decision": labels.label(labels.Kind.DECISION, c.decision),
                    "Started": timezones.readable(c.created_at, shown_in),
                    "Ended": timezones.readable(c.ended_at, shown_in),
                    "Call": ui.call_link(c.id),
                }
                for c in detail.calls
            ],
            hide_index=True,
            width="stretch",
            column_config={"Call": ui.CALL_LINK_COLUMN},
            key=f"{key}.calls",
        )
    else:
        st.info("No calls yet.")
    return detail
