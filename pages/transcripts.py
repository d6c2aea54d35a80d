"""Calls & transcripts: the calls list (filters, pages, live status) and one call's review (`?call=`)."""

import streamlit as st

from core import auth
from core.documents.status import CallStatus
from core.people import jobs
from core.review import call_list, recordings
from core.review import decisions as review_decisions
from core.review import detail as review_detail
from core.review import exports as review_exports
from core.review import filters as review_filters
from dashboard import ui
from dashboard.components import review_ui as view

_LIVE_SECONDS = 5
_PAGE_SIZES = [25, 50, 100]
_DECISION_LABELS = {
    None: "Any decision",
    "advance": "Advance",
    "hold": "Hold",
    "reject": "Reject",
    review_filters.UNDECIDED: "Not reviewed yet",
}
_RATINGS = [None, 1, 2, 3, 4, 5]
# Labels are dict lookups, not lambdas: AppTest keeps format_func in the (pickled) session state.
_RATING_LABELS = {None: "Not rated", **{r: f"{r} / 5" for r in _RATINGS[1:]}}
_OVERALL_LABELS = {**_RATING_LABELS, None: "Choose…"}
_SORT_LABELS = {key: label for key, (label, _) in review_filters.SORTS.items()}
_STATUS_LABELS = {s.value: s.value.replace("_", " ") for s in CallStatus}
_DECIDE_LABELS = {d: d.capitalize() for d in review_filters.DECISIONS}

user = ui.require_user("transcripts")
db = ui.require_database()

with st.sidebar:
    zone_options = view.zones(st.context.timezone)
    zone = st.selectbox(
        "Show times in", zone_options, key="transcripts.tz", help="Your browser's time zone is chosen first."
    )


class _NoAudio(Exception):
    """Raised inside the cached fetch so that a missing recording is never cached here."""


@st.cache_data(ttl=600, max_entries=4, show_spinner="Fetching the recording…")
def _audio(call_id: str) -> tuple[bytes, str]:
    got = recordings.recording_bytes(ui.database(), call_id)
    if not got.available:
        raise _NoAudio(got.message)
    return got.content, got.content_type


def _go_to(call_id: str | None) -> None:
    if call_id:
        st.query_params["call"] = call_id
    else:
        st.query_params.pop("call", None)


def _set_page(number: int) -> None:
    st.session_state["transcripts.page"] = max(1, number)


# -- the detail --------------------------------------------------------------------------------


def _header(detail: dict) -> None:
    st.header(f"{view.md(detail['candidate']['name'])} · {view.md(detail['job']['title'])}")
    cost = view.money(detail["cost"], detail["costs"].get("currency", ""), detail["cost_estimated"])
    facts = [
        f"Outcome: {view.md(detail['outcome'])}",
        f"Started: {view.when(detail['started_at'], zone)}",
        f"Duration: {view.duration(detail['call'].get('duration_seconds'))}",
        f"Cost: {view.md(cost)}",
        f"Phone: {view.md(detail['candidate']['phone'] or '—')}",
    ]
    st.caption(" · ".join(facts))
    if detail["call"].get("opt_out"):
        st.error("On this call the candidate asked not to be called again: they are on the "
                 "do-not-call list for every job, and no call will be placed to them.",
                 icon=":material/phone_disabled:")
    elif detail["candidate"]["do_not_call"]:
        st.warning("This candidate is on the do-not-call list.")
    st.dataframe(
        [
            {"Step": s["step"], "Time": view.when(s["at"], zone) if s["at"] else "—", "Detail": s["detail"]}
            for s in detail["timeline"]
        ],
        hide_index=True,
        width="stretch",
        key="transcripts.timeline",
    )
    if detail["events"]:
        with st.expander(f"Event log ({len(detail['events'])} events)"):
            st.dataframe(
                [
                    {"Received": view.when(e["received_at"], zone), "Event": e["detail"], "Via": e["source"]}
                    for e in detail["events"]
                ],
                hide_index=True,
                width="stretch",
                key="transcripts.events",
            )


def _live_detail(call_id: str) -> None:
    # Re-reads the call every few seconds; the full page takes over once the call has ended.
    detail = review_detail.call_detail(db, call_id, user)
    if detail is None:
        st.error("That call no longer exists.")
        return
    if not detail["in_flight"]:
        st.rerun()
    _header(detail)
    st.info(f"This call is {detail['status'].replace('_', ' ')}; this view updates by itself.")


def _review_form(detail: dict) -> None:
    current = detail["review"] or {}
    key = f"transcripts.review.{detail['id']}"
    with st.form(f"{key}.form"):
        decisions = list(review_filters.DECISIONS)
        decision = st.radio(
            "Decision",
            decisions,
            horizontal=True,
            key=f"{key}.decision",
            index=decisions.index(current["decision"]) if current.get("decision") else None,
            format_func=_DECIDE_LABELS.get,
        )
        ratings = {}
        for q in detail["questions"]:
            old = (current.get("ratings") or {}).get(str(q["number"]))
            ratings[q["number"]] = st.selectbox(
                f"Rating, question {q['number']}",
                _RATINGS,
                index=_RATINGS.index(old),
                format_func=_RATING_LABELS.get,
                key=f"{key}.q{q['number']}",
            )
        overall = st.selectbox(
            "Overall rating",
            _RATINGS,
            index=_RATINGS.index(current.get("overall")),
            format_func=_OVERALL_LABELS.get,
            key=f"{key}.overall",
        )
        notes = st.text_area(
            "Notes", value=current.get("notes") or "", max_chars=review_filters.MAX_NOTES, key=f"{key}.notes"
        )
        if st.form_submit_button("Save review", type="primary"):
            try:
                review_decisions.save_review(db, user, detail["id"], decision, ratings, overall, notes)
            except (review_filters.ReviewError, auth.PermissionDenied) as exc:
                st.error(str(exc))
            else:
                st.session_state["transcripts.saved"] = "Review saved."
                st.rerun()


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
    if detail["in_flight"]:
        st.fragment(run_every=_LIVE_SECONDS)(_live_detail)(call_id)
        return
    _header(detail)

    st.subheader("Recording")
    try:
        audio, audio_type = _audio(call_id)
        st.audio(audio, format=audio_type)
    except _NoAudio as exc:
        st.info(str(exc), icon=":material/volume_off:")

    left, right = st.columns([3, 2])
    with left:
        st.subheader("Transcript")
        if detail["transcript"]:
            tools = st.toggle("Show tool messages", key="transcripts.show_tools")
            with st.container(height=560):
                view.conversation(detail["transcript"], show_tools=tools)
        else:
            st.info(f"No transcript ({detail['transcript_status']}).")
        st.download_button(
            "Download transcript (.txt)",
            review_exports.transcript_text(db, user, call_id),
            file_name=f"transcript-{call_id}.txt",
            mime="text/plain",
            key="transcripts.download_txt",
        )
    with right:
        st.subheader("Summary")
        st.caption("Short summary")
        st.text(detail["short_summary"] or "—")
        st.caption("Summary")
        st.text(detail["summary"] or "—")
        st.subheader("Review")
        if detail["review"]:
            r = detail["review"]
            st.caption(f"Last saved by {view.md(r['by'])} at {view.when(r['at'], zone)}")
            st.text(f"Decision: {r['decision']} · overall {r['overall']} / 5")
            if r.get("notes"):
                st.text(r["notes"])
        if detail["can_review"]:
            _review_form(detail)
        else:
            st.info("Your role can read reviews but not change them.")

    st.subheader("Answers to the screening questions")
    if not detail["questions"]:
        st.caption("This call's configuration had no screening questions.")
    for q in detail["questions"]:
        with st.container(border=True):
            st.caption(
                f"Question {q['number']}"
                + (f" · asked at {view.clock(q['asked_at_s'])}" if q["asked_at_s"] is not None else "")
            )
            st.text(q["question"])
            if not q["asked"]:
                st.caption("Not asked in this call (no agent turn matched the question).")
            else:
                st.text(f"Candidate: {q['answer'] or '(no reply)'}")

    with st.expander("Configuration used for this call"):
        cfg, meta = detail["config"], detail["config_meta"]
        st.dataframe(
            [
                {"Setting": k, "Value": str(v)}
                for k, v in [
                    ("Voice", cfg.get("voice")),
                    ("Model", cfg.get("model")),
                    ("Language", cfg.get("language_hint")),
                    ("Temperature", cfg.get("temperature")),
                    ("Max duration (min)", cfg.get("max_duration_minutes")),
                    ("Recording", cfg.get("recording_enabled")),
                    ("Global config version", meta.get("global_version")),
                    ("Job config version", meta.get("job_version")),
                    ("Overridden by the job", ", ".join(meta.get("overridden_fields") or []) or "none"),
                ]
            ],
            hide_index=True,
            width="stretch",
            key="transcripts.config",
        )
        st.caption("Screening questions")
        for number, q in enumerate(cfg.get("screening_questions") or [], start=1):
            st.text(f"{number}. {q.get('text', '') if isinstance(q, dict) else q}")
        st.caption("Prompt sent to the agent")
        st.code(detail["rendered_prompt"] or "(not recorded)", language=None, wrap_lines=True)

    with st.expander("Calling hours at dial time"):
        window = detail["calling_window"]
        if window:
            st.dataframe(
                [
                    {"Fact": k.replace("_", " "), "Value": str(v)}
                    for k, v in window.items()
                    if k not in ("zones", "local_times")
                ],
                hide_index=True,
                width="stretch",
                key="transcripts.window",
            )
        else:
            st.caption("Not recorded for this call.")


# -- the list ----------------------------------------------------------------------------------


def _filters() -> tuple[review_filters.CallFilters, str, int, str | None]:
    all_jobs = jobs.list_jobs(db, include_archived=True)
    titles = {None: "All jobs", **{j.id: j.title for j in all_jobs}}
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
            help="Days in the time zone chosen in the sidebar.",
        )
        candidate = c5.text_input(
            "Candidate name or phone number", max_chars=100, key="transcripts.candidate"
        )
        sort = c6.selectbox("Sort", list(review_filters.SORTS), key="transcripts.sort",
                            format_func=_SORT_LABELS.get)
        size = c7.selectbox("Rows per page", _PAGE_SIZES, key="transcripts.size")
        if st.form_submit_button("Apply filters"):
            _set_page(1)
    picked = list(dates) if isinstance(dates, list | tuple) else [dates]
    start = picked[0] if picked else None
    end = picked[1] if len(picked) > 1 else start
    date_from, date_to = review_filters.day_range(start, end, zone)
    filters = review_filters.CallFilters(
        job_id=job_id,
        statuses=tuple(statuses),
        date_from=date_from,
        date_to=date_to,
        decision=decision,
        candidate=candidate,
    )
    return filters, sort, size, job_id


def _table(filters: review_filters.CallFilters, sort: str, size: int, live: bool) -> None:
    page = st.session_state.get("transcripts.page", 1)
    try:
        rows, total = call_list.list_calls(db, filters, sort, page, size)
        pages = call_list.page_count(total, size)
        if page > pages:  # the filters shrank the result
            _set_page(pages)
            page = pages
            rows, total = call_list.list_calls(db, filters, sort, page, size)
    except review_filters.ReviewError as exc:
        st.warning(str(exc))
        return
    if any(r["in_flight"] for r in rows) != live:
        st.session_state["transcripts.live"] = not live
        st.rerun()  # the live refresh is switched on or off for the whole page
    if not rows:
        st.info("No calls match these filters.")
        return
    table = [
        {
            "Candidate": r["candidate"],
            "Job": r["job"],
            "Started": view.when(r["started_at"], zone),
            "Duration": view.duration(r["duration_seconds"]),
            "Outcome": r["outcome"],
            "Cost": view.money(r["cost"], r["currency"], r["cost_estimated"]),
            "Decision": r["decision"] or "—",
        }
        for r in rows
    ]
    picked = st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key="transcripts.table",
    )
    selected = picked.selection.rows if picked is not None else []
    if selected:
        _go_to(rows[selected[0]]["id"])
        st.rerun(scope="app")
    if live:
        st.caption(f"Calls in progress on this page: refreshing every {_LIVE_SECONDS} s.")
    prev, info, nxt = st.columns([1, 3, 1])
    prev.button(
        "← Previous", key="transcripts.prev", disabled=page <= 1, on_click=_set_page, args=(page - 1,)
    )
    info.caption(f"Page {page} of {pages} · {total:,} calls · click a row to open it")
    nxt.button("Next →", key="transcripts.next", disabled=page >= pages, on_click=_set_page, args=(page + 1,))
    labels = {r["id"]: f"{r['candidate']} · {r['job']} · {view.when(r['started_at'], zone)}" for r in rows}
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
            file_name=f"screening-{job_id}.csv",
            mime="text/csv",
            key="transcripts.export",
            help="One row per candidate: decision, ratings, summary, duration, outcome, cost. "
            + (
                "Includes phone numbers and notes."
                if auth.can(user, auth.Action.REVIEW_CALLS)
                else "Phone numbers and review notes are left out for your role."
            ),
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
