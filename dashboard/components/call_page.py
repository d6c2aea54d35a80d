"""One call's page: live status while it runs, then recording, transcript, scorecard and the
review form. The call page (`/call?call=`) shows it; the calls list shows it too when run alone
with `?call=` (an old link, or a page test)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from core import auth, labels
from core.db import Database
from core.labels import file_name
from core.review import decisions as review_decisions
from core.review import detail as review_detail
from core.review import exports as review_exports
from core.review import filters as review_filters
from core.review import recording_links, recordings
from core.review import scorecard as review_scorecard
from core.review.models import CallDetail
from dashboard import ui
from dashboard.components import call_review, compliance, scorecard
from dashboard.components import review_ui as view
from dashboard.safe_text import md

LIVE_SECONDS = 5
_RATINGS = scorecard.RATINGS
_OVERALL_LABELS = {**scorecard.RATING_LABELS, None: "Choose…"}
_DECIDE_LABELS = {d: labels.label(labels.Kind.DECISION, d) for d in review_filters.DECISIONS}
_NO_TRANSCRIPT = {
    "pending": "The transcript is not in yet: it is fetched from the voice provider after the call.",
    "unavailable": "The voice provider had no transcript for this call.",
    "purged": "The transcript was deleted under the data-retention policy.",
    "erased": "The transcript was deleted when the candidate's data was erased.",
    "not_kept": "The transcript was not kept: there is no recording of this call (no consent to it), "
                "and the settings keep no transcript without one. The answers the agent recorded are "
                "kept.",
}


@dataclass(frozen=True)
class Viewer:
    """Who is looking, where the data is, and the zone they read times in."""

    db: Database
    user: auth.User
    zone: str


class _NoAudio(Exception):
    """Raised inside the cached fetch so that a missing recording is never cached here."""


@st.cache_data(ttl=600, max_entries=32, show_spinner="Fetching the recording…")
def _recording_ready(call_id: str) -> bool:
    # Fetches (and caches server-side) the audio so that problems show here in words; the
    # browser then plays it from the sidecar, never from Streamlit's unauthenticated /media/.
    got = recordings.recording_bytes(ui.database(), call_id)
    if not got.available:
        raise _NoAudio(got.message)
    return True


def _recording_url(user: auth.User, call_id: str) -> str:
    """A signed sidecar link for this user, reused while it has 5 minutes left (a new URL on
    every rerun would restart the player)."""
    key = f"transcripts.recording_link.{call_id}"
    link = st.session_state.get(key)
    if not link or link["expires_at"] - time.time() < 300:
        made = recording_links.link_for(user, call_id)
        link = {"url": made.url, "expires_at": made.expires_at}
        st.session_state[key] = link
    return link["url"]


def _live_detail(v: Viewer, call_id: str) -> None:
    # Re-reads the call every few seconds; the full page takes over once the call has ended.
    detail = review_detail.call_detail(v.db, call_id, v.user)
    if detail is None:
        st.error("That call no longer exists.")
        return
    if not detail.in_flight:
        st.rerun()
    call_review.header(detail, v.zone, key="transcripts")
    st.info(f"{md(detail.outcome)} — this view updates by itself.")
    call_review.technical_details(detail, key="transcripts.live")


def _opened_version(detail: CallDetail, key: str) -> int:
    # The review version this reviewer's form was opened with, kept until they save or
    # reload; taken afresh whenever they open the call (from the list, a link, Save & next).
    if st.session_state.get("transcripts.opened") != detail.id:
        st.session_state["transcripts.opened"] = detail.id
        st.session_state[f"{key}.version"] = detail.review_version
        st.session_state.pop(f"{key}.refused", None)
    return st.session_state.setdefault(f"{key}.version", detail.review_version)


def _inputs_key(call_id: str) -> str:
    # Reloading gives the review inputs new keys: new widgets, filled from the saved review
    # (a browser re-sends the values of widgets it already has).
    reloads = st.session_state.get(f"transcripts.reloads.{call_id}", 0)
    return f"transcripts.review.{call_id}" + (f".r{reloads}" if reloads else "")


def _reload(call_id: str) -> None:
    for name in ("version", "refused"):
        st.session_state.pop(f"transcripts.review.{call_id}.{name}", None)
    reloads = f"transcripts.reloads.{call_id}"
    st.session_state[reloads] = st.session_state.get(reloads, 0) + 1


def _review_form(v: Viewer, detail: CallDetail, rows: list[review_scorecard.ScorecardRow], key: str) -> None:
    current = detail.review
    base = f"transcripts.review.{detail.id}"
    expected = _opened_version(detail, base)
    with st.form(f"{key}.form"):
        st.caption("Rate each answer in its row above, then give your overall view.")
        decisions = list(review_filters.DECISIONS)
        decision = st.radio(
            "Decision",
            decisions,
            horizontal=True,
            key=f"{key}.decision",
            index=decisions.index(current.decision) if current and current.decision else None,
            format_func=_DECIDE_LABELS.get,
        )
        overall = st.selectbox(
            "Overall rating",
            _RATINGS,
            index=_RATINGS.index(current.overall if current else None),
            format_func=_OVERALL_LABELS.get,
            key=f"{key}.overall",
        )
        notes = st.text_area(
            "Notes",
            value=(current.notes if current else "") or "",
            max_chars=review_filters.MAX_NOTES,
            key=f"{key}.notes",
        )
        save, save_next = st.columns([1, 4])
        saved = save.form_submit_button("Save review", type="primary")
        and_next = save_next.form_submit_button(
            "Save & next", help="Save, then open the oldest call of this job still awaiting a review."
        )
        if saved or and_next:
            ratings = scorecard.ratings(rows, review_key=key)
            try:
                review = review_decisions.save_review(
                    v.db, v.user, detail.id, decision, ratings, overall, notes, expected_version=expected
                )
            except review_decisions.ReviewConflict as exc:
                st.session_state[f"{base}.refused"] = (exc.by, exc.at)  # shown until a reload
            except (review_filters.ReviewError, auth.PermissionDenied) as exc:
                st.error(md(str(exc)))
            else:
                st.session_state[f"{base}.version"] = review.version
                flash = "Review saved."
                if and_next:
                    following = review_decisions.next_awaiting_review(v.db, v.user, detail.id)
                    if following:
                        st.query_params["call"] = following
                        flash += " This is the next call awaiting review in this job."
                    else:
                        flash += " No more calls awaiting review in this job."
                st.session_state["transcripts.saved"] = flash
                st.rerun()
    if refused := st.session_state.get(f"{base}.refused"):
        st.error(scorecard.conflict(*refused, v.zone), icon=":material/sync_problem:")
        st.button("Reload the saved review", key=f"{base}.reload", on_click=_reload, args=(detail.id,))


def show(v: Viewer, call_id: str) -> None:
    """One call's page: live while it runs; then recording, transcript, scorecard and review."""
    if st.button("← All calls", key="transcripts.back"):
        ui.go("transcripts")
    detail = review_detail.call_detail(v.db, call_id, v.user)
    if detail is None:
        st.error("There is no call with that id. It may have been deleted.")
        return
    if flash := st.session_state.pop("transcripts.saved", None):
        st.success(flash)
    if detail.in_flight:
        st.fragment(run_every=LIVE_SECONDS)(_live_detail)(v, call_id)
        return
    call_review.header(detail, v.zone, key="transcripts")
    compliance.flag(detail, v.zone)
    if detail.status == "queued":  # waiting for its time: nothing to hear or review yet
        st.info(md(detail.outcome), icon=":material/schedule:")
        call_review.technical_details(detail, key="transcripts")
        return
    play_key = f"transcripts.scorecard.{call_id}"

    st.subheader("Recording")
    try:
        _recording_ready(call_id)
        scorecard.player(_recording_url(v.user, call_id), key=play_key)
        playable = True
    except _NoAudio as exc:
        st.info(md(str(exc)), icon=":material/volume_off:")
        playable = False

    left, right = st.columns([3, 2])
    with left:
        st.subheader("Transcript")
        if detail.transcript:
            tools = st.toggle("Show tool messages", key="transcripts.show_tools")
            with st.container(height=420):
                view.conversation(detail.transcript, show_tools=tools)
        else:
            st.info(md(detail.transcript_note) or _NO_TRANSCRIPT.get(
                detail.transcript_status, "No transcript was stored for this call."))
        st.download_button(
            "Download transcript (.txt)",
            review_exports.detail_text(detail),  # the call as read above, not read again
            file_name=file_name("transcript", detail.candidate.name, detail.job.title,
                                day=detail.started_at.date() if detail.started_at else None, ext="txt"),
            mime="text/plain",
            key="transcripts.download_txt",
        )
    with right:
        call_review.summary(detail)
        call_review.saved_review(detail, v.zone)

    st.subheader("Scorecard")
    rows = review_scorecard.call_scorecard(detail)
    key = _inputs_key(detail.id)
    scorecard.rows(rows, key=play_key, review_key=key if detail.can_review else None, playable=playable)
    if detail.can_review:
        _review_form(v, detail, rows, key)
    else:
        st.info("Your role can read reviews but not change them.")

    compliance.section(detail, v.zone, key="transcripts")
    call_review.call_settings(detail, key="transcripts")
    call_review.calling_window(detail, key="transcripts")
    call_review.technical_details(detail, key="transcripts")


def open_from_address(v: Viewer) -> None:
    """The call named by `?call=` in the address, or a clear message when it names none."""
    call_id = review_filters.valid_call_id(st.query_params.get("call") or "")
    if call_id is None:
        st.title("Call")
        st.error("That link does not point to a call.")
        ui.page_link("transcripts", "All calls", icon=":material/forum:")
        return
    show(v, call_id)
