"""Dashboard entry point: log-in gate, role-filtered navigation, sandbox banner."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

# `streamlit run dashboard/app.py` puts only dashboard/ on sys.path; the packages live one up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st  # noqa: E402

from core import auth, health, labels  # noqa: E402
from core.config import describe_error  # noqa: E402
from dashboard import login  # noqa: E402
from dashboard.components import mode_banner, unsaved_guard  # noqa: E402
from dashboard.ui import PAGES_DIR, require_database, settings  # noqa: E402

_TITLES = {
    "home": ("Home", ":material/home:"),
    "global_settings": ("Global settings", ":material/tune:"),
    "job_settings": ("Job settings", ":material/work:"),
    "voices": ("Voices", ":material/record_voice_over:"),
    "jobs_candidates": ("Jobs & candidates", ":material/groups:"),
    "launch_calls": ("Launch calls", ":material/call:"),
    "transcripts": ("Calls & transcripts", ":material/forum:"),
    "call": ("Call", ":material/call_log:"),
    "pipeline": ("Pipeline", ":material/filter_alt:"),
    "usage": ("Usage & cost", ":material/monitoring:"),
    "users": ("Users", ":material/manage_accounts:"),
    "account": ("My account", ":material/account_circle:"),
}


def _pages(stems: list[str]) -> list:
    return [
        st.Page(
            PAGES_DIR / f"{stem}.py",
            title=_TITLES[stem][0],
            icon=_TITLES[stem][1],
            url_path=stem,
            default=stem == "home",
            # A call is opened from a list or a link; leaving it by the sidebar's "Calls &
            # transcripts" switches page, which drops ?call= (the same page would keep it).
            visibility="hidden" if stem in auth.UNLISTED_PAGES else "visible",
        )
        for stem in stems
    ]


def _refusal(stem: str, role: auth.Role):
    """A hidden stand-in for a page this role may not open: a typed or shared address says why
    instead of silently landing on Home (the real page script is never run)."""
    title = _TITLES[stem][0]

    def refuse() -> None:
        st.title(title)
        st.error(f"Your role ({labels.label(labels.Kind.ROLE, role).lower()}) does not give access to "
                 f"{title}. Ask an administrator if you need it.", icon=":material/lock:")
        st.page_link(PAGES_DIR / "home.py", label="Go to Home", icon=":material/home:")

    refuse.__name__ = f"refuse_{stem}"  # Streamlit names a page by its function
    return st.Page(refuse, title=title, url_path=stem, visibility="hidden")


st.set_page_config(
    page_title="Voice Screening Console", page_icon=":telephone_receiver:", layout="wide"
)

try:
    cfg = settings()
except Exception as exc:  # noqa: BLE001 - show any configuration problem instead of a traceback
    st.error(f"The configuration is invalid: {describe_error(exc)}")
    st.stop()

mode_banner.show_mode(cfg)

# A deep link (/job_settings?job=…) opened while signed out must still land there after the
# log-in: the log-in reruns lose the requested page, so note it from the first run's URL.
if st.session_state.get("authentication_status") is not True and "app.requested_page" not in st.session_state:
    _stem = urlsplit(st.context.url or "").path.rstrip("/").rsplit("/", 1)[-1]
    st.session_state["app.requested_page"] = _stem if _stem in auth.PAGE_ROLES else None
    st.session_state["app.requested_query"] = {k: st.query_params[k] for k in st.query_params}

db = require_database()

# The key that signs the log-in cookie (the cookie carries a server-side session's token).
cookie_key = auth.cookie_key(cfg.cookie_key
)
user = login.signed_in_user(db, cookie_key) or login.login_form(db, cookie_key)
login.write_cookie()
if user is None:
    st.stop()

with st.sidebar:
    st.markdown(f"**{user.name}** · {labels.label(labels.Kind.ROLE, user.role)}")
    if st.button("Log out", key="auth_logout"):
        login.log_out(db, user)
        st.rerun()
    st.caption(health.sidebar_summary(db))

# Deployment problems are for signed-in people only (they describe the infrastructure).
mode_banner.show_runtime_problems(cfg, db)
allowed = auth.pages_for(user.role)
refused = [_refusal(stem, user.role) for stem in auth.PAGE_ROLES if stem not in allowed]
current = st.navigation(_pages(allowed) + refused)
wanted = st.session_state.pop("app.requested_page", None)
wanted_query = st.session_state.pop("app.requested_query", None) or {}
if wanted and wanted != current.url_path and wanted in allowed:
    st.switch_page(PAGES_DIR / f"{wanted}.py", query_params=wanted_query)
current.run()
unsaved_guard.guard()  # after the page: it may just have made or saved a draft
