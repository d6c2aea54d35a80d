"""Calls & transcripts: the calls list (filters, pages, live status); a call opens on its own page."""

from datetime import date

import streamlit as st

from core import labels
from core.labels import file_name
from core.review import call_list
from core.review import exports as review_exports
from core.review import filters as review_filters
from dashboard import ui
from dashboard.components import call_page
from dashboard.components import review_ui as view
from dashboard.safe_text import md

_PAGE_SIZES = [25, 50, 100]
_DECISION_LABELS = {
    None: "Any decision",
    **labels.labels(labels.Kind.DECISION),
    review_filters.UNDECIDED: "Not reviewed yet",
}
_STATUS_LABELS = labels.labels(labels.Kind.CALL_STATUS)

user = ui.require_user("transcripts")
db = ui.require_database()

zone = ui.zone_in_sidebar(user)  # chosen on My account (the browser's until then)


def _go_to(call_id: str) -> None:
    ui.go("call", {"call": call_id})


def _set_page(number: int) -> None:
    st.session_state["transcripts.page"] = max(1, number)


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
            list(_STATUS_LABELS),
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
    if live:
        st.caption(f"Calls in progress on this page: refreshing every {call_page.LIVE_SECONDS} s.")
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


def _show_list() -> None:
    st.title("Calls & transcripts")
    filters, sort, size, job_id = _filters()
    live = bool(st.session_state.get("transcripts.live", False))
    st.fragment(run_every=call_page.LIVE_SECONDS if live else None)(_table)(filters, sort, size, live)
    if job_id:
        st.download_button(
            "Download CSV of this job's screened candidates",
            data=lambda: review_exports.export_job_csv(ui.database(), user, job_id, zone=zone),
            file_name=file_name(call_list.job_choices(db).get(job_id, "job"), "screening",
                                day=date.today(), ext="csv"),
            mime="text/csv",
            key="transcripts.export",
            help="One row per candidate: decision, ratings, summary, duration, outcome, cost. "
            + review_exports.csv_scope(user),
        )
    else:
        st.caption("Choose a job and apply the filters to export its screened candidates as CSV.")


if "call" in st.query_params:
    # An address from before calls had a page of their own: open it there (shown here when
    # this page runs alone).
    ui.switch_page("call", {"call": st.query_params["call"]})
    call_page.open_from_address(call_page.Viewer(db, user, zone))
else:
    _show_list()
