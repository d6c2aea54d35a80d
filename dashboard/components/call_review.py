"""The sections of one call's review page: header and timeline, summary, saved review, the
settings the call was placed with and the calling-hours verdict (the answers: scorecard.py).

Untrusted call text goes through `st.text`, dataframe cells or `review_ui.md` (see review_ui).
"""

from __future__ import annotations

import streamlit as st

from core import timezones
from core.review.models import CallDetail
from dashboard.components import review_ui as view

_VIA = {"webhook": "sent by the provider", "poll": "asked for by the console"}


def header(detail: CallDetail, zone: str, *, key: str) -> None:
    """Who and what, the call's facts, its do-not-call state, timeline and event log."""
    st.header(f"{view.md(detail.candidate.name)} · {view.md(detail.job.title)}")
    cost = view.money(detail.cost, detail.currency, detail.cost_estimated)
    facts = [
        f"Outcome: {view.md(detail.outcome)}",
        f"Started: {timezones.readable_for_both(detail.started_at, zone, detail.candidate_zone)}",
        f"Duration: {view.duration(detail.duration_seconds)}",
        f"Cost: {view.md(cost)}",
        f"Phone: {view.md(detail.candidate.phone or '—')}",
    ]
    st.caption(" · ".join(facts))
    if detail.opt_out:
        st.error(
            "On this call the candidate asked not to be called again: they are on the "
            "do-not-call list for every job, and no call will be placed to them.",
            icon=":material/phone_disabled:",
        )
    elif detail.candidate.do_not_call:
        st.warning("This candidate is on the do-not-call list.")
    st.dataframe(
        [
            {"Step": s.step.capitalize(), "Time": view.when(s.at, zone) if s.at else "—", "Detail": s.detail}
            for s in detail.timeline
        ],
        hide_index=True,
        width="stretch",
        key=f"{key}.timeline",
    )
    if detail.events:
        with st.expander(f"Event log ({len(detail.events)} events)"):
            st.dataframe(
                [
                    {"Received": view.when(e.received_at, zone), "Event": e.detail,
                     "How it came": _VIA.get(e.source, e.source)}
                    for e in detail.events
                ],
                hide_index=True,
                width="stretch",
                key=f"{key}.events",
            )


def summary(detail: CallDetail) -> None:
    """The provider's short and long summaries, as plain text."""
    st.subheader("Summary")
    st.caption("Short summary")
    st.text(detail.short_summary or "—")
    st.caption("Summary")
    st.text(detail.summary or "—")


def saved_review(detail: CallDetail, zone: str) -> None:
    """The last saved review (notes only when the role may see them)."""
    review = detail.review
    if review is None:
        return
    st.caption(f"Last saved by {view.md(review.by)} at {view.when(review.at, zone)}")
    st.text(f"Decision: {review.decision} · overall {review.overall} / 5")
    if review.notes:
        st.text(review.notes)


def call_settings(detail: CallDetail, *, key: str) -> None:
    """The voice settings, screening questions and prompt the call was placed with."""
    with st.expander("Configuration used for this call"):
        st.dataframe(
            [{"Setting": f.label, "Value": f.value} for f in detail.settings],
            hide_index=True,
            width="stretch",
            key=f"{key}.config",
        )
        st.caption("Screening questions")
        for number, text in enumerate(detail.screening_questions, start=1):
            st.text(f"{number}. {text}")
        st.caption("Prompt sent to the agent")
        st.code(detail.rendered_prompt or "(not recorded)", language=None, wrap_lines=True)


def calling_window(detail: CallDetail, *, key: str) -> None:
    """The calling-hours verdict stored when the call was dialled."""
    with st.expander("Calling hours at dial time"):
        if detail.calling_window:
            st.dataframe(
                [{"Fact": f.label, "Value": f.value} for f in detail.calling_window],
                hide_index=True,
                width="stretch",
                key=f"{key}.window",
            )
        else:
            st.caption("Not recorded for this call.")


def technical_details(detail: CallDetail, *, key: str) -> None:
    """The call's ids for an operator, only when the reader may see them (admins)."""
    if not detail.technical:
        return
    with st.expander("Technical details (for operators)"):
        st.dataframe([{"What": f.label, "Value": f.value} for f in detail.technical],
                     hide_index=True, width="stretch", key=f"{key}.technical")
