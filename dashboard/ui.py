"""Small helpers every page uses: the database, the signed-in user, friendly errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from core import auth, timezones
from core import db as dbmod
from core.config import Settings, get_settings
from core.db import Database

ROOT = Path(__file__).resolve().parent.parent
PAGES_DIR = ROOT / "pages"


@st.cache_resource(show_spinner=False)
def _database(uri: str, name: str) -> Database:
    # Keyed by URI and name so a settings change (tests) gets its own handle.
    return dbmod.get_client()[name]


def settings() -> Settings:
    """The process settings."""
    return get_settings()


def database() -> Database:
    """The application database (one client per process)."""
    s = get_settings()
    return _database(s.effective_mongodb_uri, s.mongodb_db)


# Session-state keys of the signed-in session (set by the log-in in dashboard/login.py). The
# first four are the ones streamlit-authenticator sets, kept for the pages and tests that read them.
SESSION_ID = "auth.session_id"
SESSION_ENDED = "auth.session_ended"  # set when a signed-in session is found ended
_SIGNED_IN_KEYS = ("authentication_status", "username", "name", "roles", SESSION_ID)


def remember_session(user: auth.User, session_id: str) -> None:
    """Mark this browser session as signed in to a server-side session."""
    st.session_state["authentication_status"] = True
    st.session_state["username"] = user.username
    st.session_state["name"] = user.name
    st.session_state["roles"] = [user.role.value]
    st.session_state[SESSION_ID] = session_id


def forget_session() -> None:
    """Mark this browser session as signed out (the server-side record is not touched)."""
    for key in _SIGNED_IN_KEYS:
        st.session_state.pop(key, None)


def current_user() -> auth.User | None:
    """The signed-in, enabled user of this session, read fresh from the database.

    Being marked signed in is not enough: the server-side session must still exist and not be
    idle for longer than SESSION_IDLE_HOURS (log-out, a password reset, a role change or
    disabling the account end it).
    """
    if st.session_state.get("authentication_status") is not True:
        return None
    user = auth.session_user(
        database(), st.session_state.get(SESSION_ID), idle=get_settings().session_idle
    )
    if user is None:
        forget_session()
        st.session_state[SESSION_ENDED] = True
        return None
    return user


def require_user(page: str) -> auth.User:
    """Stop the page unless a user is signed in and their role may open it."""
    user = current_user()
    if user is None:
        st.warning("Please log in to use the Voice Screening Console.")
        st.stop()
    if user.role not in auth.PAGE_ROLES.get(page, frozenset()):
        st.error("Your role does not give access to this page.")
        st.stop()
    if message := st.session_state.pop(f"{page}.flash", None):
        st.toast(message)
    return user


def flash(page: str, message: str) -> None:
    """Show `message` as a toast on the page's next run (a toast sent right before
    st.rerun() can be lost, so confirmations of actions that rerun go through here)."""
    st.session_state[f"{page}.flash"] = message


def require_database() -> Database:
    """The database, or a clear message and a stopped page when it cannot be reached."""
    database_ = database()
    ok, reason = dbmod.ping(database_)
    if not ok:
        st.error(
            f"The database cannot be reached right now ({reason}). Nothing was changed; "
            "reload the page in a moment. (Operators: check MONGODB_URI, or that `make run` "
            "started the embedded database.)"
        )
        st.stop()
    return database_


def not_built_yet(feature: str, issue: int) -> None:
    """Say plainly that a page's feature is planned and not available yet."""
    st.info(f"{feature} is not available yet: it is being built under issue #{issue}.")


def page_link(stem: str, label: str, query: dict[str, str] | None = None, icon: str | None = None) -> None:
    """A link to another page (with ?query); a plain link when the page runs outside the frame."""
    try:
        st.page_link(str(PAGES_DIR / f"{stem}.py"), label=label, query_params=query, icon=icon)
    except StreamlitPageNotFoundError:
        # Only pages registered with st.navigation can be page-linked (a page run alone, as in
        # tests, has none): fall back to the same URL as an ordinary link.
        st.markdown(f"[{label}](/{stem}?{urlencode(query or {})})")


def viewer_zone(user: auth.User) -> str:
    """The zone this user reads times in: their choice on My account, else the browser's, else UTC."""
    for zone in (user.time_zone, st.context.timezone):
        if timezones.valid_zone(zone):
            return str(zone)
    return timezones.UTC_NAME


def zone_in_sidebar(user: auth.User) -> str:
    """The user's zone (see viewer_zone), named in the sidebar for pages that show times."""
    zone = viewer_zone(user)
    with st.sidebar:
        st.caption(f"Times in {zone} · change it on My account.")
    return zone


def switch_page(stem: str, query: dict[str, str] | None = None) -> None:
    """Open another page with ?query (a page switch clears the current page's query); returns
    only when the page is not served, as when a page runs alone in a page test."""
    try:
        st.switch_page(str(PAGES_DIR / f"{stem}.py"), query_params=query)
    except StreamlitPageNotFoundError:
        return


def go(stem: str, query: dict[str, str] | None = None) -> None:
    """Open another page with ?query; run alone, the current script reruns with that query."""
    switch_page(stem, query)
    st.query_params.clear()
    st.query_params.update(query or {})
    st.rerun(scope="app")


def address(stem: str, **query: str) -> str:
    """A page's address for a table's link column, relative so it works under any base path."""
    return f"{stem}?{urlencode(query)}"


def call_link(call_id: str) -> str:
    """The address of one call's page."""
    return address("call", call=call_id)


def link_column(label: str, text: str) -> Any:
    """A table column of links: the cell holds the address, the user reads `text` (never an id)."""
    return st.column_config.LinkColumn(label, display_text=text)


CALL_LINK_COLUMN = link_column("Call", "Open call")
