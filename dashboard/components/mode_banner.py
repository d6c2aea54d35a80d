"""The banner at the top of every page: sandbox mode and what stops it going live, or in live
mode the problems of the running deployment (in red)."""

from __future__ import annotations

import streamlit as st

from core import labels, startup
from core.config import Settings
from core.db import Database


@st.cache_data(ttl=60, max_entries=4, show_spinner=False)
def _runtime_problems(_db: Database, uri: str, name: str) -> list[str]:
    # Keyed by URI and database name (the handle itself is not hashable); asked once a minute.
    return startup.runtime_problems(_db)


def show_mode(cfg: Settings) -> None:
    """Sandbox mode: the banner, with the list of what live mode would refuse today."""
    if not cfg.is_sandbox:
        return
    st.warning(
        "**Sandbox mode** — calls go to a local simulator, nobody is dialled. "
        "Set the Ultravox and Twilio credentials to call for real.",
        icon=":material/science:",
    )
    missing = startup.not_ready_for_live(cfg)
    if missing:
        with st.expander(f"Not ready for live: {labels.counted(len(missing), 'setting')} to do"):
            st.text("\n".join(f"• {item}" for item in missing))


def show_runtime_problems(cfg: Settings, db: Database) -> None:
    """Live mode: a red banner for each problem found at run time (e.g. the embedded database)."""
    if cfg.is_sandbox:
        return
    for problem in _runtime_problems(db, cfg.effective_mongodb_uri, cfg.mongodb_db):
        st.error(f"**Not safe for live calling:** {problem}", icon=":material/error:")
