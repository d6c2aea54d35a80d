"""Calls & transcripts: the calls list (filters, pages, live status) and one call's review (`?call=`)."""

import time
from datetime import date

import streamlit as st

from core import auth
from core.documents.status import CallStatus
from core.labels import file_name
from core.review import call_list, recording_links, recordings
from core.review import decisions as review_decisions
from core.review import detail as review_detail
from core.review import exports as review_exports
from core.review import filters as review_filters
from core.review import scorecard as review_scorecard
from core.review.models import CallDetail
from dashboard import ui
from dashboard.components import call_review, scorecard
from dashboard.components import review_ui as view
from dashboard.safe_text import md

_LIVE_SECONDS = 5
_PAGE_SIZES = [25, 50, 100]
_DECISION_LABELS = {
    None: "Any decision",
    "advance": "Advance",
    "hold": "Hold",
    "reject": "Reject",
    review_filters.UNDECIDED: "Not reviewed yet",
}
_RATINGS = scorecard.RATINGS
_OVERALL_LABELS = {**scorecard.RATING_LABELS, None: "Choose…"}
_STATUS_LABELS = {s.value: s.value.replace("_", " ") for s in CallStatus}
_DECIDE_LABELS = {d: d.capitalize() for d in review_filters.DECISIONS}

user = ui.require_user("transcripts")
db = ui.require_database()

zone = ui.viewer_zone(user)  # chosen on My account (the browser's until then)
with st.sidebar:
    st.caption(f"Times in {zone} · change it on My account.")


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


def _recording_url(call_id: str) -> str:
    """A signed sidecar link for this user, reused while it has 5 minutes left (a new URL on
    every rerun would restart the player)."""
    key = f"transcripts.recording_link.{call_id}"
    link = st.session_state.get(key)
    if not link or link["expires_at"] - time.time() < 300:
        made = recording_links.link_for(user, call_id)
        link = {"url": made.url, "expires_at": made.expires_at}
        st.session_state[key] = link
    return link["url"]


def _go_to(call_id: str | None) -> None:
    if call_id:
        st.query_params["call"] = call_id
    else:
        st.query_params.pop("call", None)


def _set_page(number: int) -> None:
    st.session_state["transcripts.page"] = max(1, number)


# -- the detail --------------------------------------------------------------------------------


def _live_detail(call_id: str) -> None:
    # Re-reads the call every few seconds; the full page takes over once the call has ended.
    detail = review_detail.call_detail(db, call_id, user)
    if detail is None:
        st.error("That call no longer exists.")
        return
    if not detail.in_flight:
        st.rerun()
    call_review.header(detail, zone, key="transcripts")
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


def _review_form(detail: CallDetail, rows: list[review_scorecard.ScorecardRow], key: str) -> None:
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
                    db, user, detail.id, decision, ratings, overall, notes, expected_version=expected
                )
            except review_decisions.ReviewConflict as exc:
                st.session_state[f"{base}.refused"] = (exc.by, exc.at)  # shown until a reload
            except (review_filters.ReviewError, auth.PermissionDenied) as exc:
                st.error(md(str(exc)))
            else:
                st.session_state[f"{base}.version"] = review.version
                flash = "Review saved."
                if and_next:
                    following = review_decisions.next_awaiting_review(db, user, detail.id)
                    if following:
                        _go_to(following)
                        flash += " This is the next call awaiting review in this job."
                    else:
                        flash += " No more calls awaiting review in this job."
                st.session_state["transcripts.saved"] = flash
                st.rerun()
    if refused := st.session_state.get(f"{base}.refused"):
        st.error(scorecard.conflict(*refused, zone), icon=":material/sync_problem:")
        st.button("Reload the saved review", key=f"{base}.reload", on_click=_reload, args=(detail.id,))


def _show_detail(call_id: str) -> None:
    if st.button("← All calls", key="transcripts.back"):
        _go_to(None)
        st.rerun()
    detail = review_detail.call_detail(db, call_id, user)
    if detail is None:
        st.error("There is no call with that id. It may have been deleted.")
        return
    if flash := st.session_state.pop("transcripts.saved", None):
        st.success(flash)
    if detail.in_flight:
        st.fragment(run_every=_LIVE_SECONDS)(_live_detail)(call_id)
        return
    call_review.header(detail, zone, key="transcripts")
    if detail.status == "queued":  # waiting for its time: nothing to hear or review yet
        st.info(md(detail.outcome), icon=":material/schedule:")
        call_review.technical_details(detail, key="transcripts")
        return
    play_key = f"transcripts.scorecard.{call_id}"

    st.subheader("Recording")
    try:
        _recording_ready(call_id)
        scorecard.player(_recording_url(call_id), key=play_key)
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
            st.info(f"No transcript ({detail.transcript_status}).")
        st.download_button(
            "Download transcript (.txt)",
            review_exports.transcript_text(db, user, call_id),
            file_name=file_name("transcript", detail.candidate.name, detail.job.title,
                                day=detail.started_at.date() if detail.started_at else None, ext="txt"),
            mime="text/plain",
            key="transcripts.download_txt",
        )
    with right:
        call_review.summary(detail)
        call_review.saved_review(detail, zone)

    st.subheader("Scorecard")
    rows = review_scorecard.call_scorecard(detail)
    key = _inputs_key(detail.id)
    scorecard.rows(rows, key=play_key, review_key=key if detail.can_review else None, playable=playable)
    if detail.can_review:
        _review_form(detail, rows, key)
    else:
        st.info("Your role can read reviews but not change them.")

    call_review.call_settings(detail, key="transcripts")
    call_review.calling_window(detail, key="transcripts")
    call_review.technical_details(detail, key="transcripts")


# -- the list ----------------------------------------------------------------------------------


def _filters() -> tuple[review_filters.CallFilters, str, int, str | None]:
    titles = {None: "All jobs", **call_list.job_choices(db)}
    with st.form("transcripts.filters"):
        c1, c2, c3 = st.columns(3)
        job_id = c1.selectbox(
            "Job",
            list(titles),
            key="transcripts.job",
            format_func=titles.get,
        )
        statuses = c2.multiselect(
            "Status",
            [s.value for s in CallStatus],
            key="transcripts.statuses",
            format_func=_STATUS_LABELS.get,
        )
        decision = c3.selectbox(
            "Decision", list(_DECISION_LABELS), key="transcripts.decision", format_func=_DECISION_LABELS.get
        )
        c4, c5, c6, c7 = st.columns([2, 2, 1, 1])
        dates = c4.date_input(
            "Created between",
            value=(),
            key="transcripts.dates",
            help="Days in your time zone (My account).",
        )
        candidate = c5.text_input(
            "Candidate name or phone number", max_chars=100, key="transcripts.candidate"
        )
        sort = c6.selectbox(
            "Sort",
            list(review_filters.SORT_LABELS),
            key="transcripts.sort",
            format_func=review_filters.SORT_LABELS.get,
        )
        size = c7.selectbox("Rows per page", _PAGE_SIZES, key="transcripts.size")
        if st.form_submit_button("Apply filters"):
            _set_page(1)
    filters = review_filters.filters_from_form(
        job_id=job_id, statuses=statuses, dates=dates, decision=decision, candidate=candidate, zone=zone
    )
    return filters, sort, size, job_id


def _table(filters: review_filters.CallFilters, sort: str, size: int, live: bool) -> None:
    asked = st.session_state.get("transcripts.page", 1)
    try:
        listing = call_list.browse(db, filters, sort, asked, size, user=user)
    except review_filters.ReviewError as exc:
        st.warning(md(str(exc)))
        return
    if listing.page != asked:  # the filters shrank the result
        _set_page(listing.page)
    page, pages, rows, total = listing.page, listing.pages, listing.rows.data, listing.rows.count
    if listing.live != live:
        st.session_state["transcripts.live"] = not live
        st.rerun()  # the live refresh is switched on or off for the whole page
    if not rows:
        st.info("No calls match these filters.")
        return
    picked = st.dataframe(
        view.calls_table(rows, zone),
        hide_index=True,
        width="stretch",
        height=view.table_height(len(rows)),  # every row of the page, no inner scroll
        on_select="rerun",
        selection_mode="single-row",
        key="transcripts.table",
    )
    selected = picked.selection.rows if picked is not None else []
    if selected:
        _go_to(rows[selected[0]].id)
        st.rerun(scope="app")
    if live:
        st.caption(f"Calls in progress on this page: refreshing every {_LIVE_SECONDS} s.")
    prev, info, nxt = st.columns([1, 3, 1])
    prev.button(
        "← Previous", key="transcripts.prev", disabled=page <= 1, on_click=_set_page, args=(page - 1,)
    )
    info.caption(f"Page {page} of {pages} · {total:,} calls · click a row to open it")
    nxt.button("Next →", key="transcripts.next", disabled=page >= pages, on_click=_set_page, args=(page + 1,))
    labels = view.call_labels(rows, zone)
    with st.form("transcripts.open_form", border=False):
        choice = st.selectbox(
            "Open a call", list(labels), format_func=labels.get, key="transcripts.open_choice"
        )
        if st.form_submit_button("Open call"):
            _go_to(choice)
            st.rerun(scope="app")


def _show_list() -> None:
    st.title("Calls & transcripts")
    filters, sort, size, job_id = _filters()
    live = bool(st.session_state.get("transcripts.live", False))
    st.fragment(run_every=_LIVE_SECONDS if live else None)(_table)(filters, sort, size, live)
    if job_id:
        st.download_button(
            "Download CSV of this job's screened candidates",
            data=lambda: review_exports.export_job_csv(ui.database(), user, job_id),
            file_name=file_name(call_list.job_choices(db).get(job_id, "job"), "screening",
                                day=date.today(), ext="csv"),
            mime="text/csv",
            key="transcripts.export",
            help="One row per candidate: decision, ratings, summary, duration, outcome, cost. "
            + review_exports.csv_scope(user),
        )
    else:
        st.caption("Choose a job and apply the filters to export its screened candidates as CSV.")


wanted = st.query_params.get("call")
if wanted is not None:
    call_id = review_filters.valid_call_id(wanted)
    if call_id is None:
        st.error("That link does not point to a call.")
        if st.button("← All calls", key="transcripts.back_bad"):
            _go_to(None)
            st.rerun()
    else:
        _show_detail(call_id)
else:
    _show_list()
