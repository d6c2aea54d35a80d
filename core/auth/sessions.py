"""Server-side log-in sessions: the cookie proves nothing on its own.

A session is a random token handed to the browser (inside the signed log-in cookie) and a
record stored under the token's SHA-256 — never the token itself, so whoever reads the database
cannot turn a record back into a cookie. A cookie whose record is gone (log-out, password reset,
role change, account disabled) or unused for longer than the idle limit lands on the log-in form.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import audit, labels
from core.auth import store
from core.auth.models import SessionRecord
from core.auth.permissions import User
from core.db import Database, utcnow

# `last_seen` is written at most this often: every page view reads the session, few write it.
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Ticket:
    """A new session: the token for the cookie, the id it is stored under, its absolute expiry."""

    token: str
    session_id: str
    expires_at: datetime


def session_id_of(token: str) -> str:
    """The id a session is stored under: the SHA-256 of its token (hex)."""
    # The token is 256 random bits, so a plain hash cannot be reversed by guessing.
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    db: Database, username: str, *, lifetime: timedelta, idle: timedelta, now: datetime | None = None
) -> Ticket:
    """Open a session for a user who just proved their password; returns its token once."""
    now = now or utcnow()
    # Sessions abandoned without a log-out are swept when their user next signs in.
    store.delete_stale_sessions(db, username, idle_before=now - idle, now=now)
    token = secrets.token_urlsafe(32)
    ticket = Ticket(token=token, session_id=session_id_of(token), expires_at=now + lifetime)
    store.insert_session(
        db,
        SessionRecord(
            _id=ticket.session_id, username=username, created_at=now, last_seen=now,
            expires_at=ticket.expires_at,
        ),
    )
    return ticket


def session_user(
    db: Database, session_id: str | None, *, idle: timedelta, now: datetime | None = None
) -> User | None:
    """The enabled user of a live session, or None (no record, idle too long, expired, disabled)."""
    if not session_id:
        return None
    now = now or utcnow()
    record = store.get_session(db, session_id)
    if record is None:
        return None
    if (record.last_seen or now) <= now - idle or (record.expires_at and record.expires_at <= now):
        store.delete_session(db, session_id)
        return None
    user = store.get_user(db, record.username)
    if user is None or not user.active:
        return None
    if record.last_seen is None or record.last_seen <= now - TOUCH_EVERY:
        store.touch_session(db, session_id, now, unless_after=now - TOUCH_EVERY)
    return user.to_user()


def resume_session(
    db: Database, token: str | None, *, idle: timedelta, now: datetime | None = None
) -> tuple[str, User] | None:
    """(session id, user) for a token a browser presents again, or None when it is not live."""
    if not token:
        return None
    session_id = session_id_of(token)
    user = session_user(db, session_id, idle=idle, now=now)
    return (session_id, user) if user else None


def end_sessions(db: Database, username: str) -> int:
    """End every session of a user (log-out, password change, role change, disabling)."""
    return store.delete_sessions(db, username)


def log_out(db: Database, username: str) -> None:
    """Log a user out: end every session of theirs (every browser) and audit it."""
    ended = end_sessions(db, username)
    audit.record(
        db, actor=username, action="user.logout", entity="user", entity_id=username,
        detail=f"{labels.counted(ended, 'session')} ended",
    )
