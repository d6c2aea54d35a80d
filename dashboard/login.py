"""The frame's log-in: the form, the cookie that brings a browser back to its session, log-out.

The cookie keeps streamlit-authenticator 0.4.2's format — an HS256 JWT signed with
AUTH_COOKIE_KEY holding `username` and `exp_date`, written by extra-streamlit-components'
cookie component — plus `sid`, the random token of a server-side session (core.auth.sessions).
The signature alone no longer signs anyone in: the session's record must exist and be fresh, so
log-out, a password reset, a role change or disabling the account make every copy of the
cookie worthless. The form itself is ours, because the password may only be checked after the
log-in throttle (core.auth.login), which the library's form cannot call.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import streamlit as st

# The component behind streamlit-authenticator's cookie (extra_streamlit_components'
# CookieManager), called directly: the CookieManager class also renders a read-all component on
# every call, which we do not need (the server reads cookies from st.context.cookies).
from extra_streamlit_components.CookieManager import _component_func as _cookie_component

from core import auth, labels
from core.db import Database
from dashboard import ui

COOKIE_NAME = "vsc_auth"
# The cookie's absolute lifetime; SESSION_IDLE_HOURS ends an unused session sooner.
COOKIE_LIFETIME = timedelta(days=1)
_PENDING_WRITE = "auth.cookie_write"  # a cookie write the browser has not confirmed yet
_LOGGED_OUT = "auth.logged_out"


def client_address() -> str:
    """The browser's address, from the connection or a trusted proxy's X-Forwarded-For."""
    forwarded = st.context.headers.get("X-Forwarded-For")
    return auth.client_address(st.context.ip_address, forwarded, ui.settings().trusted_proxies)


def _encode(user: auth.User, ticket: auth.Ticket, key: str) -> str:
    claims = {"username": user.username, "exp_date": ticket.expires_at.timestamp(), "sid": ticket.token}
    return jwt.encode(claims, key, algorithm="HS256")


def _decode(value: str, key: str) -> dict[str, Any] | None:
    try:
        claims = jwt.decode(value, key, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    expiry = claims.get("exp_date")
    if not isinstance(expiry, int | float) or expiry <= datetime.now(UTC).timestamp():
        return None
    return claims


def _queue_write(action: str, value: str = "", expires_at: datetime | None = None) -> None:
    # The cookie is written by a component in the browser; the write is rendered on every run
    # until the browser confirms it, so a rerun or a page switch right after cannot lose it.
    st.session_state[_PENDING_WRITE] = {
        "action": action, "value": value, "nonce": secrets.token_hex(6),
        "expires": expires_at.isoformat() if expires_at else None,
    }


def write_cookie() -> None:
    """Render the pending cookie write (set after log-in, delete after log-out), if any."""
    pending = st.session_state.get(_PENDING_WRITE)
    if not pending:
        return
    key = f"auth.cookie_{pending['action']}.{pending['nonce']}"
    if pending["action"] == "set":
        options = {"path": "/", "expires": pending["expires"], "sameSite": "strict"}
        if (st.context.url or "").startswith("https://"):
            options["secure"] = True
        done = _cookie_component(
            method="set", cookie=COOKIE_NAME, value=pending["value"], options=options, key=key,
            default=False,
        )
    else:
        done = _cookie_component(
            method="delete", cookie=COOKIE_NAME, key=key, default=False
        )
    if done:
        st.session_state.pop(_PENDING_WRITE, None)


def signed_in_user(db: Database, cookie_key: str) -> auth.User | None:
    """The signed-in user: from this browser session, else from a live session's cookie."""
    user = ui.current_user()
    if user is not None:
        return user
    value = st.context.cookies.get(COOKIE_NAME)
    if not value or st.session_state.get(_LOGGED_OUT):
        return None
    claims = _decode(value, cookie_key)
    resumed = auth.resume_session(
        db, claims.get("sid") if claims else None, idle=ui.settings().session_idle
    )
    if resumed is None or resumed[1].username != claims.get("username"):
        # A stale cookie (logged out, password reset, idle, forged): drop it and ask to log in.
        if _PENDING_WRITE not in st.session_state:
            _queue_write("delete")
        st.session_state[_LOGGED_OUT] = True
        return None
    session_id, user = resumed
    ui.remember_session(user, session_id)
    return user


def login_form(db: Database, cookie_key: str) -> auth.User | None:
    """Show the log-in form; the user once the submitted username and password are accepted."""
    # The page layout is wide (tables need it); a log-in form that wide reads badly: centre it.
    _, column, _ = st.columns([1, 1.4, 1])
    with column:
        return _login_column(db, cookie_key)


def _login_column(db: Database, cookie_key: str) -> auth.User | None:
    if st.session_state.pop(ui.SESSION_ENDED, None):
        st.info(
            "Your session has ended — you logged out, your password or role changed, the account "
            "was disabled, or it was not used for a while. Please log in again."
        )
    box = st.empty()
    with box.form("auth_login", clear_on_submit=True):
        st.subheader("Voice Screening Console — log in")
        username = st.text_input("Username", key="auth.username", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="auth.password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Login")
    if not submitted:
        return None
    result = auth.sign_in(db, username, password, client_address=client_address())
    if not result.ok:
        st.session_state["authentication_status"] = False
        if result.locked_until is not None:
            minutes = max(1, round((result.locked_until - datetime.now(UTC)).total_seconds() / 60))
            st.error(
                "Too many failed log-ins: this account is locked here for about "
                f"{labels.counted(minutes, 'more minute')}. Wait, or ask an operator to run "
                "`python -m core.manage unlock-user NAME`."
            )
        else:
            st.error("Username or password is incorrect, or the account is disabled.")
        return None
    user = result.user
    if user is None:  # a success always names its user; refuse rather than sign in no one
        return None
    ticket = auth.start_session(
        db, user.username, lifetime=COOKIE_LIFETIME, idle=ui.settings().session_idle
    )
    ui.remember_session(user, ticket.session_id)
    st.session_state.pop(_LOGGED_OUT, None)
    _queue_write("set", _encode(user, ticket, cookie_key), ticket.expires_at)
    box.empty()
    return user


def log_out(db: Database, user: auth.User) -> None:
    """End every session of the user, forget this one, and drop the browser's cookie."""
    auth.log_out(db, user.username)
    ui.forget_session()
    st.session_state[_LOGGED_OUT] = True
    _queue_write("delete")
