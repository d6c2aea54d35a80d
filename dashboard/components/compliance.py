"""A call's compliance record on its page: the warning when the disclosure was not found, and the
record in plain words (times in the reader's zone, the candidate's clock beside)."""

from __future__ import annotations

import streamlit as st

from core import timezones
from core.compliance.view import compliance_view
from core.review.models import CallDetail
from dashboard.safe_text import md


def flag(detail: CallDetail, zone: str) -> None:
    """The warning shown at the top of a call whose agent did not say the disclosure."""
    if detail.compliance is None:
        return
    view = compliance_view(detail.compliance, zone)
    if view.flag:
        st.warning(md(view.flag) + ".", icon=":material/gpp_maybe:")


def section(detail: CallDetail, zone: str, *, key: str) -> None:
    """The "Compliance" section: what applied when the call was dialled, and what was said."""
    st.subheader("Compliance")
    if detail.compliance is None:
        st.caption("Not recorded for this call.")
        return
    view = compliance_view(detail.compliance, zone)
    if not view.recorded:
        st.caption("This call was placed before compliance records were kept: every field is "
                   "not recorded.")
    src = detail.compliance
    theirs = src.record.zones[0] if src.record and len(src.record.zones) == 1 else None
    rows = [("Dialled", timezones.readable_for_both(src.started_at, zone, theirs)), *view.facts]
    # Tall enough for every fact: a record read with a scroll bar hides half of it.
    st.dataframe([{"Fact": label, "Value": value or "—"} for label, value in rows],
                 hide_index=True, width="stretch", key=f"{key}.compliance", height=35 * (len(rows) + 1) + 3)
