"""The review scorecard of one call: one bordered row per question (question, answer, transcript
excerpt with ▶, knockout, guidance, rating) and the one recording player the ▶ buttons move.

The component owns its session keys: `<key>.play` (where the player starts, seconds; absent:
from the beginning), `<key>.plays` (how many ▶ presses, so a second press of the same ▶
restarts it) and the ratings `<review_key>.q<number>`. Candidate words go through `st.text`.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from core.review.scorecard import ScorecardRow
from dashboard.components import review_ui as view

RATINGS = [None, 1, 2, 3, 4, 5]
# Labels are dict lookups, not lambdas: AppTest keeps format_func in the (pickled) session state.
RATING_LABELS = {None: "Not rated", **{r: f"{r} / 5" for r in RATINGS[1:]}}
_KNOCKOUT_ICONS = {"passed": "✅", "not passed": "❌"}


def _play(key: str, seconds: float) -> None:
    st.session_state[f"{key}.play"] = seconds
    st.session_state[f"{key}.plays"] = st.session_state.get(f"{key}.plays", 0) + 1


def play_start(key: str) -> float | None:
    """Where the player starts (seconds), once a ▶ was pressed; None before."""
    return st.session_state.get(f"{key}.play")


def player(url: str, *, key: str) -> None:
    """The call's one recording player; after a ▶ it starts (and plays) from that moment."""
    start = play_start(key)
    if start is None:
        st.audio(url, format="audio/wav")
        return
    presses = st.session_state.get(f"{key}.plays", 1)
    # autoplay gives the element an id from its arguments: a new start (or a new press, via
    # alt) mounts a new player, which then starts playing from `start_time`.
    alt = f"Call recording, playing from {view.clock(start)}" + (f" ({presses})" if presses > 1 else "")
    st.audio(url, format="audio/wav", start_time=int(start), autoplay=True, alt=alt)
    st.caption(f"Playing from {view.clock(start)}. Press ▶ beside an answer to hear it.")


def _question(row: ScorecardRow) -> None:
    st.caption(f"Question {row.number} · {row.type_label}")
    st.text(row.question)
    if row.reviewer_guidance:
        st.caption(f"For reviewers: {view.md(row.reviewer_guidance)}")


def _answer(row: ScorecardRow) -> None:
    st.caption("Answer")
    if not row.asked:
        st.caption("Not asked in this call (no recorded answer, no agent turn matched the question).")
        return
    if row.value and row.value.casefold() != row.answer.casefold():
        st.text(f"Value: {row.value}")
    st.text(row.answer or "(no reply)")
    facts = [row.source_label] if row.source_label else []
    if row.earlier:
        facts.append("corrected; earlier: " + " → ".join(view.md(e) for e in row.earlier))
    if facts:
        st.caption(" · ".join(facts))


def _excerpt(row: ScorecardRow, *, key: str, playable: bool) -> None:
    st.caption("In the transcript")
    if not row.excerpt:
        st.caption("No transcript lines for this answer.")
    for line in row.excerpt:
        stamp = view.clock(line.start_s)
        st.text(f"{line.speaker}{' · ' + stamp if stamp else ''}: {line.text}")
    if playable and row.play_from is not None:
        st.button(
            f"▶ Play from {view.clock(row.play_from)}",
            key=f"{key}.play_q{row.number}",
            on_click=_play,
            args=(key, row.play_from),
            help="Plays the recording above from the moment the candidate answered.",
        )
        if play_start(key) == row.play_from:
            st.caption("Playing in the recording player at the top of the page.")


def _rating(row: ScorecardRow, *, review_key: str | None) -> None:
    icon = _KNOCKOUT_ICONS.get(row.knockout, "")
    st.caption(f"Knockout: {row.knockout} {icon}".strip())
    if review_key is None:
        st.text(f"Rating: {RATING_LABELS[row.rating]}")
        return
    st.selectbox(
        f"Rating, question {row.number}",
        RATINGS,
        index=RATINGS.index(row.rating),
        format_func=RATING_LABELS.get,
        key=f"{review_key}.q{row.number}",
        help="Your rating of this answer, from 1 (poor) to 5 (excellent).",
    )


def rows(scorecard: list[ScorecardRow], *, key: str, review_key: str | None, playable: bool) -> None:
    """The scorecard rows; `review_key` None: the ratings are read-only (a viewer)."""
    if not scorecard:
        st.caption("This call's configuration had no screening questions.")
    for row in scorecard:
        with st.container(border=True, key=f"{key}.row_q{row.number}"):
            question, answer, excerpt, rating = st.columns([3, 3, 4, 2])
            with question:
                _question(row)
            with answer:
                _answer(row)
            with excerpt:
                _excerpt(row, key=key, playable=playable)
            with rating:
                _rating(row, review_key=review_key)


def ratings(scorecard: list[ScorecardRow], *, review_key: str) -> dict[str, int | None]:
    """The ratings the reviewer chose in the rows, keyed as the review stores them."""
    return {row.rating_key: st.session_state.get(f"{review_key}.q{row.number}") for row in scorecard}


def conflict(by: str | None, at: datetime | None, zone: str) -> str:
    """The refusal of a save that another reviewer's save overtook, in the viewer's time zone."""
    when = f" at {view.when(at, zone)}" if at else ""
    return (f"{view.md(by or 'Someone')} saved a review of this call{when} while you were editing; "
            "reload to see it — your input is kept below.")
