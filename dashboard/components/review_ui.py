"""Inert rendering of untrusted call text, and the small formatters of the review page.

Whatever a candidate says (and whatever a provider summarises from it) is data, never markup:
it goes to `st.text`, `st.code` or a dataframe cell, none of which interpret markdown or HTML.
Where a label must be markdown (headers, captions), `md` (dashboard.safe_text) makes it literal.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import streamlit as st

from core import timezones
from core.review.models import CallRow, Message
from core.usage.costs import money_text
from dashboard import safe_text

md = safe_text.md  # the review components call it view.md
_SPEAKERS = {
    "agent": ("assistant", ":material/smart_toy:", "Agent"),
    "candidate": ("user", ":material/person:", "Candidate"),
    "tool": ("tool", ":material/build:", "Tool"),
}


def clock(seconds: Any) -> str:
    """Seconds into the call as m:ss (or an empty string)."""
    if not isinstance(seconds, int | float):
        return ""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def when(value: datetime | None, zone: str) -> str:
    """A UTC datetime in the viewer's zone, e.g. "2 Mar 2026, 10:00 EST"."""
    return timezones.readable(value, zone)


def duration(seconds: Any) -> str:
    """A call length as m:ss, or a dash."""
    return clock(seconds) or "—"


def money(amount: Decimal | None, currency: str = "", estimated: bool = False) -> str:
    """A cost for a table cell, in the one money format (core.usage.costs.money_text)."""
    return money_text(amount, currency, estimated=estimated)


def conversation(messages: list[Message], *, show_tools: bool = False) -> None:
    """A transcript as chat bubbles: agent and candidate apart, time into the call, inert text."""
    shown = 0
    for message in messages:
        if message.speaker == "tool" and not show_tools:
            continue
        name, avatar, label = _SPEAKERS.get(message.speaker, _SPEAKERS["tool"])
        with st.chat_message(name, avatar=avatar):
            stamp = clock(message.start_s)
            st.caption(f"{label} · {stamp}" if stamp else label)
            st.text(message.text)
        shown += 1
    if not shown:
        st.caption("No transcript lines.")


_ROW_PX, _BORDER_PX = 35, 3  # Streamlit's dataframe row (and header) height, and its frame


def table_height(rows: int) -> int:
    """A dataframe height that shows the header and every row without an inner scroll bar."""
    return _ROW_PX * (rows + 1) + _BORDER_PX


def calls_table(rows: list[CallRow], zone: str) -> list[dict[str, str]]:
    """The cells of the calls table, times in the viewer's zone."""
    return [
        {
            "Candidate": r.candidate,
            "Job": r.job,
            "Started": when(r.started_at, zone),
            "Duration": duration(r.duration_seconds),
            "Outcome": r.outcome,
            "Cost": money(r.cost, r.currency, r.cost_estimated),
            "Decision": r.decision or "—",
        }
        for r in rows
    ]


def call_labels(rows: list[CallRow], zone: str) -> dict[str, str]:
    """Call id → "candidate · job · start" for the open-a-call picker."""
    return {r.id: f"{r.candidate} · {r.job} · {when(r.started_at, zone)}" for r in rows}
