"""Legal hold on a candidate or a job: a badge everyone sees, and for admins a form to place or
lift it with a reason (no purge or erasure touches the calls while it is on)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core import auth, timezones
from core.auth import User
from core.db import Database
from core.people import holds
from dashboard import ui
from dashboard.safe_text import md


def badge_text(hold: dict[str, Any] | None, zone: str) -> str:
    """"On legal hold since 3 Dec 2026, 09:12 UTC — reason" ("" when there is no hold)."""
    if not hold:
        return ""
    since = timezones.readable(hold.get("at"), zone)
    return f"On legal hold since {since} — {hold.get('reason') or 'no reason recorded'}"


def show(db: Database, user: User, kind: holds.Kind, entity_id: str, *, key: str) -> None:
    """The hold badge (everyone) and, for an admin, Place or Lift with a reason."""
    hold = holds.hold_of(db, kind, entity_id)
    if hold:
        st.warning(md(badge_text(hold, ui.viewer_zone(user))), icon=":material/gavel:")
    if not auth.can(user, auth.Action.MANAGE_LEGAL_HOLDS):
        return
    page = key.split(".", 1)[0]
    verb = "Lift" if hold else "Place"
    with st.expander("Legal hold"), st.form(f"{key}.form", clear_on_submit=True):
        st.caption(f"While this {kind} is on legal hold, no retention purge and no erasure touches "
                   f"its calls. Placing and lifting a hold are recorded in the audit log.")
        reason = st.text_input(f"Why is the hold {'lifted' if hold else 'placed'}? (required)",
                               key=f"{key}.reason")
        if st.form_submit_button(f"{verb} legal hold"):
            try:
                if hold:
                    holds.lift_hold(db, user, kind, entity_id, reason)
                else:
                    holds.place_hold(db, user, kind, entity_id, reason)
            except (holds.HoldError, auth.PermissionDenied) as exc:
                st.error(md(str(exc)))
            else:
                ui.flash(page, f"Legal hold {'lifted' if hold else 'placed'}.")
                st.rerun()
