"""Helpers for AppTest: absolute paths and a signed-in session."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import auth
from core import db as dbmod

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
PAGES = ROOT / "pages"
TIMEOUT = 30


def page_path(stem: str) -> str:
    """Absolute path of a page script."""
    return str(PAGES / f"{stem}.py")


def signed_in(at: AppTest, user: auth.User) -> AppTest:
    """Seed the session as the log-in form leaves it: marked signed in to a live server-side
    session (opened here in the test database)."""
    ticket = auth.start_session(
        dbmod.get_db(), user.username, lifetime=timedelta(days=1), idle=timedelta(hours=8)
    )
    at.session_state["authentication_status"] = True
    at.session_state["username"] = user.username
    at.session_state["name"] = user.name
    at.session_state["roles"] = [user.role.value]
    at.session_state["auth.session_id"] = ticket.session_id
    return at


def make_user(db, role: str, username: str | None = None) -> auth.User:
    """Create a user of that role in the test database."""
    return auth.create_user(db, username or f"{role}1", "a-long-password-1", role, actor=auth.OPERATOR)


# Elements whose text Streamlit renders as markdown; `text` (st.text) is rendered verbatim.
MARKDOWN_KINDS = ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                  "error", "success")


# A link column's cell holds the address; the browser shows its display text ("Open call").
INTERNAL_LINK = re.compile(r"^[a-z_]+\?[a-z_]+=[0-9a-f]{32}(-[a-z0-9]+)*$")  # retries: "<id>-2", "<id>-w"
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def texts(at: AppTest) -> str:
    """All visible text elements of a run, joined (for 'shows X' assertions); Markdown escapes
    (dashboard.safe_text.md) are read as the characters they show."""
    parts = []
    for kind in MARKDOWN_KINDS:
        parts.extend(_ESCAPED.sub(r"\1", str(el.value)) for el in getattr(at, kind))
    parts.extend(str(el.value) for el in at.text)
    return "\n".join(parts)


def visible_strings(at: AppTest, *, exempt_columns: tuple[str, ...] = ()) -> list[str]:
    """Every string a user sees on a run: text elements, labels, metrics, choices and table
    cells and headers (for the plain-language checks); a table whose columns are exactly
    `exempt_columns` is left out (the admins' "Technical details", which shows ids on purpose)."""
    # A Markdown link shows its text, not its address.
    found = [_LINK.sub(r"\1", line) for line in texts(at).splitlines() if line.strip()]
    found += [str(e.label) for e in at.expander] + [str(t.label) for t in at.tabs]
    found += [s for m in at.metric for s in (str(m.label), str(m.value))]
    for kind in ("button", "selectbox", "text_input", "checkbox", "multiselect", "text_area", "radio",
                 "number_input", "date_input", "time_input", "toggle", "select_slider"):
        for widget in getattr(at, kind):
            found.append(str(widget.label))
            found += [str(o) for o in getattr(widget, "options", None) or []]
    for table in (*at.dataframe, *at.table):
        frame = table.value
        if exempt_columns and tuple(frame.columns) == exempt_columns:
            continue
        found += [str(c) for c in frame.columns]
        found += [str(v) for v in frame.astype(str).to_numpy().ravel()
                  if str(v) not in ("", "nan") and not INTERNAL_LINK.match(str(v))]
    return found
