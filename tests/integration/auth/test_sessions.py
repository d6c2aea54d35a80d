"""Server-side sessions on the real database: stored by hash, idle limit, revoked by changes."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from core import auth
from core.db import AUDIT_LOG, SESSIONS

IDLE = timedelta(hours=8)
DAY = timedelta(days=1)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def admin(db):
    return auth.create_user(db, "alice", "correct-horse-1", "admin", actor=auth.OPERATOR)


@pytest.fixture
def rita(db):
    return auth.create_user(db, "rita", "ritas-password-1", "recruiter", actor=auth.OPERATOR)


def _start(db, username: str, at: datetime = T0) -> auth.Ticket:
    return auth.start_session(db, username, lifetime=DAY, idle=IDLE, now=at)


def _user(db, ticket: auth.Ticket, at: datetime = T0):
    return auth.session_user(db, ticket.session_id, idle=IDLE, now=at)


def test_the_record_is_keyed_by_the_tokens_hash_and_never_holds_the_token(db, rita):
    ticket = _start(db, "rita")
    assert ticket.session_id == hashlib.sha256(ticket.token.encode()).hexdigest()
    docs = list(db[SESSIONS].find())
    assert [d["_id"] for d in docs] == [ticket.session_id]
    assert ticket.token not in str(docs)
    assert len(ticket.token) >= 43  # 256 random bits


def test_a_presented_token_resumes_its_session(db, rita):
    ticket = _start(db, "rita")
    session_id, user = auth.resume_session(db, ticket.token, idle=IDLE, now=T0 + timedelta(hours=1))
    assert session_id == ticket.session_id and user.username == "rita"
    assert auth.resume_session(db, "made-up-token", idle=IDLE) is None
    assert auth.resume_session(db, None, idle=IDLE) is None


def test_a_session_idle_for_more_than_the_limit_ends(db, rita):
    ticket = _start(db, "rita")
    assert _user(db, ticket, T0 + IDLE - timedelta(seconds=1)) is not None
    assert _user(db, ticket, T0 + IDLE - timedelta(seconds=1) + IDLE + timedelta(seconds=1)) is None
    assert db[SESSIONS].count_documents({}) == 0


def test_use_keeps_a_session_alive_but_not_past_its_absolute_expiry(db, rita):
    ticket = _start(db, "rita")
    for hours in range(1, 24):
        assert _user(db, ticket, T0 + timedelta(hours=hours)) is not None
    assert _user(db, ticket, T0 + DAY) is None


def test_last_seen_is_written_at_most_once_a_minute(db, rita):
    ticket = _start(db, "rita")
    _user(db, ticket, T0 + timedelta(seconds=30))
    assert db[SESSIONS].find_one()["last_seen"] == T0
    _user(db, ticket, T0 + timedelta(seconds=61))
    assert db[SESSIONS].find_one()["last_seen"] == T0 + timedelta(seconds=61)


def test_log_out_ends_every_session_of_the_user_only(db, admin, rita):
    first, second = _start(db, "rita"), _start(db, "rita")
    theirs = _start(db, "alice")
    auth.log_out(db, "rita")
    assert _user(db, first) is None and _user(db, second) is None
    assert _user(db, theirs) is not None
    entry = db[AUDIT_LOG].find_one({"action": "user.logout"})
    assert entry["actor"] == "rita" and "2 sessions" in entry["detail"]


@pytest.mark.parametrize(
    "change",
    [
        lambda db, admin: auth.reset_password(db, admin, "rita", "brand-new-password-1"),
        lambda db, admin: auth.set_role(db, admin, "rita", "viewer"),
        lambda db, admin: auth.set_disabled(db, admin, "rita", True),
    ],
    ids=["password reset", "role change", "disabled"],
)
def test_an_admins_change_ends_the_users_sessions(db, admin, rita, change):
    ticket = _start(db, "rita", at=datetime.now(UTC))
    kept = _start(db, "alice", at=datetime.now(UTC))
    change(db, admin)
    assert auth.session_user(db, ticket.session_id, idle=IDLE) is None
    assert db[SESSIONS].count_documents({"username": "rita"}) == 0
    assert auth.session_user(db, kept.session_id, idle=IDLE) is not None


def test_a_disabled_users_session_is_refused_even_if_its_record_remains(db, admin, rita):
    ticket = _start(db, "rita", at=datetime.now(UTC))
    left_behind = db[SESSIONS].find_one({"_id": ticket.session_id})
    auth.set_disabled(db, admin, "rita", True)
    db[SESSIONS].insert_one(left_behind)  # e.g. written by a replica at the same moment
    assert auth.session_user(db, ticket.session_id, idle=IDLE) is None


def test_signing_in_sweeps_the_users_abandoned_sessions(db, rita):
    _start(db, "rita", at=T0)
    _start(db, "rita", at=T0 + timedelta(days=2))
    assert db[SESSIONS].count_documents({"username": "rita"}) == 1
