"""Managing users on the real database: who may, the last-admin guard under races, passwords."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import bcrypt
import pytest

from core import auth
from core.auth.roles import Role
from core.db import APP_STATE, AUDIT_LOG, SESSIONS, USERS

MULTIBYTE_73 = "é" * 36 + "a"  # 37 characters, 73 bytes


@pytest.fixture
def cheap_hashes(monkeypatch):
    """bcrypt at its lowest cost, for tests that create many users (the rule under test is not bcrypt's)."""
    monkeypatch.setattr(
        "core.auth.users.hash_password",
        lambda password: bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode(),
    )


@pytest.fixture
def admin(db):
    return auth.create_user(db, "alice", "correct-horse-1", "admin", actor=auth.OPERATOR)


def _active_admins(db) -> int:
    return db[USERS].count_documents({"role": "admin", "disabled": {"$ne": True}})


def _run_at_once(jobs) -> list[Exception]:
    barrier = threading.Barrier(len(jobs))
    errors: list[Exception] = []

    def run(job) -> None:
        barrier.wait()
        try:
            job()
        except (auth.AuthError, auth.PermissionDenied) as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_thirty_concurrent_demotions_and_disablings_leave_exactly_one_admin(db, cheap_hashes):
    names = [f"admin{i:02d}" for i in range(30)]
    for name in names:
        auth.create_user(db, name, "a-long-password-1", "admin", actor=auth.OPERATOR)
    jobs = [
        (lambda n=name: auth.set_role(db, auth.OPERATOR, n, "recruiter")) if i % 2 == 0
        else (lambda n=name: auth.set_disabled(db, auth.OPERATOR, n, True))
        for i, name in enumerate(names)
    ]
    errors = _run_at_once(jobs)
    assert _active_admins(db) == 1
    assert len(errors) == 1 and "last active admin" in str(errors[0])
    assert db[APP_STATE].find_one({"_id": "active_admins"})["count"] == 1


def test_thirty_admins_demoting_themselves_at_once_leave_one(db, cheap_hashes):
    admins = [auth.create_user(db, f"adm{i:02d}", "a-long-password-1", "admin", actor=auth.OPERATOR)
              for i in range(30)]
    _run_at_once([lambda a=a: auth.set_role(db, a, a.username, "viewer") for a in admins])
    assert _active_admins(db) == 1
    assert db[APP_STATE].find_one({"_id": "active_admins"})["count"] == 1


def test_the_guard_counts_admins_of_a_database_written_before_it(db, cheap_hashes):
    # Users inserted directly, as an older version wrote them: no count document yet.
    for name in ("old1", "old2"):
        db[USERS].insert_one({"_id": name, "username": name, "name": name, "email": "", "role": "admin",
                              "password_hash": "x", "disabled": False, "created_at": datetime.now(UTC)})
    auth.set_role(db, auth.OPERATOR, "old1", "viewer")
    with pytest.raises(auth.AuthError, match="last active admin"):
        auth.set_disabled(db, auth.OPERATOR, "old2", True)


def test_promotion_and_re_enabling_count_again(db, admin):
    auth.create_user(db, "bob", "bobs-password-1", "recruiter", actor=auth.OPERATOR)
    auth.set_role(db, admin, "bob", "admin")
    auth.set_disabled(db, admin, "bob", True)
    with pytest.raises(auth.AuthError, match="last active admin"):
        auth.set_role(db, admin, "alice", "viewer")
    auth.set_disabled(db, admin, "bob", False)
    auth.set_role(db, admin, "alice", "viewer")
    assert _active_admins(db) == 1 and auth.get_user(db, "bob").role is Role.ADMIN


@pytest.mark.parametrize("role", ["recruiter", "viewer"])
def test_create_user_refuses_a_caller_who_is_not_an_admin(db, admin, role):
    caller = auth.create_user(db, f"{role}1", "a-long-password-1", role, actor=admin)
    with pytest.raises(auth.PermissionDenied):
        auth.create_user(db, "mallory", "a-long-password-1", "admin", actor=caller)
    assert auth.get_user(db, "mallory") is None


def test_create_user_checks_the_caller_as_stored_now(db, admin):
    bob = auth.create_user(db, "bob", "bobs-password-1", "admin", actor=admin)
    auth.set_role(db, admin, "bob", "viewer")
    with pytest.raises(auth.PermissionDenied):  # bob's page still holds an admin User object
        auth.create_user(db, "mallory", "a-long-password-1", "admin", actor=bob)
    forged = auth.User("ghost", "Ghost", Role.ADMIN)  # an admin object for no stored user
    with pytest.raises(auth.PermissionDenied):
        auth.create_user(db, "mallory", "a-long-password-1", "admin", actor=forged)


def test_the_operator_creates_users_and_is_audited_as_the_cli(db):
    auth.create_user(db, "carol", "a-long-password-1", "viewer", actor=auth.OPERATOR)
    assert db[AUDIT_LOG].find_one({"action": "user.create"})["actor"] == "cli"


@pytest.mark.parametrize("name", ["cli", "system", "anonymous", "operator"])
def test_names_the_audit_log_uses_cannot_be_usernames(db, name):
    with pytest.raises(auth.AuthError, match="Username"):
        auth.create_user(db, name, "a-long-password-1", "viewer", actor=auth.OPERATOR)


def test_a_73_byte_password_is_a_message_everywhere_not_a_crash(db, admin):
    with pytest.raises(auth.AuthError, match="72 bytes"):
        auth.create_user(db, "dora", MULTIBYTE_73, "viewer", actor=admin)
    assert auth.get_user(db, "dora") is None
    with pytest.raises(auth.AuthError, match="72 bytes"):
        auth.reset_password(db, admin, "alice", MULTIBYTE_73)
    with pytest.raises(auth.AuthError, match="72 bytes"):
        auth.change_own_password(db, admin, "correct-horse-1", MULTIBYTE_73, client_address="192.0.2.1")
    assert not auth.sign_in(db, "alice", MULTIBYTE_73, client_address="192.0.2.1").ok
    assert auth.authenticate(db, "alice", "correct-horse-1")


def test_users_change_their_own_password_with_the_current_one(db, admin):
    viewer = auth.create_user(db, "vic", "vics-password-1", "viewer", actor=admin)
    ticket = auth.start_session(db, "vic", lifetime=timedelta(days=1), idle=timedelta(hours=8))
    with pytest.raises(auth.AuthError, match="current password"):
        auth.change_own_password(db, viewer, "not-my-password", "vics-new-password-2",
                                 client_address="192.0.2.1")
    with pytest.raises(auth.AuthError, match="differ"):
        auth.change_own_password(db, viewer, "vics-password-1", "vics-password-1",
                                 client_address="192.0.2.1")
    auth.change_own_password(db, viewer, "vics-password-1", "vics-new-password-2",
                             client_address="192.0.2.1")
    assert auth.authenticate(db, "vic", "vics-new-password-2")
    assert auth.authenticate(db, "vic", "vics-password-1") is None
    assert db[SESSIONS].find_one({"_id": ticket.session_id}) is None
    actions = [e["action"] for e in db[AUDIT_LOG].find({"entity_id": "vic"})]
    assert "password_change.failure" in actions and "user.password_change" in actions


def test_guessing_the_current_password_is_throttled(db, admin, monkeypatch):
    monkeypatch.setattr("core.auth.login.check_password", lambda password, _hash: False)
    for i in range(5):
        with pytest.raises(auth.AuthError):
            auth.change_own_password(db, admin, f"guess-{i}", "a-new-password-1", client_address="192.0.2.1")
    with pytest.raises(auth.AuthError, match="Too many"):
        auth.change_own_password(db, admin, "correct-horse-1", "a-new-password-1", client_address="192.0.2.1")
