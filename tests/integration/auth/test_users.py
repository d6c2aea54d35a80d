"""Users, passwords and roles on the real database."""

import pytest

from core import auth
from core.auth.roles import Role
from core.db import AUDIT_LOG, USERS


@pytest.fixture
def admin(db):
    return auth.create_user(db, "alice", "correct-horse-1", "admin", name="Alice", actor=auth.OPERATOR)


def test_password_is_stored_only_as_bcrypt_hash(db, admin):
    doc = db[USERS].find_one({"_id": "alice"})
    assert doc["password_hash"].startswith("$2")
    assert "correct-horse-1" not in str(doc)


def test_authenticate_right_wrong_and_disabled(db, admin):
    auth.create_user(db, "bob", "bobs-password-1", "recruiter", actor=auth.OPERATOR)
    assert auth.authenticate(db, "bob", "bobs-password-1").role is Role.RECRUITER
    assert auth.authenticate(db, "bob", "wrong-password") is None
    assert auth.authenticate(db, "nobody", "bobs-password-1") is None
    auth.set_disabled(db, admin, "bob", True)
    assert auth.authenticate(db, "bob", "bobs-password-1") is None


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("a", "long-enough-pw", "viewer", "Username"),
        ("Bad Name", "long-enough-pw", "viewer", "Username"),
        ("carol", "short", "viewer", "at least"),
        ("carol", "long-enough-pw", "superuser", "Role must be"),
    ],
)
def test_create_user_rejects_bad_input(db, username, password, role, message):
    with pytest.raises(auth.AuthError, match=message):
        auth.create_user(db, username, password, role, actor=auth.OPERATOR)
    assert db[USERS].count_documents({}) == 0


def test_duplicate_username_is_refused(db, admin):
    with pytest.raises(auth.AuthError, match="already exists"):
        auth.create_user(db, "ALICE", "another-pass-1", "viewer", actor=auth.OPERATOR)


def test_last_admin_cannot_be_demoted_or_disabled(db, admin):
    auth.create_user(db, "bob", "bobs-password-1", "recruiter", actor=auth.OPERATOR)
    with pytest.raises(auth.AuthError, match="last active admin"):
        auth.set_role(db, admin, "alice", "viewer")
    with pytest.raises(auth.AuthError, match="own account"):
        auth.set_disabled(db, admin, "alice", True)
    auth.set_role(db, admin, "bob", "admin")
    auth.set_role(db, admin, "alice", "viewer")
    assert auth.get_user(db, "alice").role is Role.VIEWER


def test_only_admins_manage_users(db, admin):
    recruiter = auth.create_user(db, "bob", "bobs-password-1", "recruiter", actor=auth.OPERATOR)
    viewer = auth.create_user(db, "vic", "vics-password-1", "viewer", actor=auth.OPERATOR)
    for actor in (recruiter, viewer):
        with pytest.raises(auth.PermissionDenied):
            auth.set_role(db, actor, "alice", "viewer")
        with pytest.raises(auth.PermissionDenied):
            auth.reset_password(db, actor, "alice", "new-password-123")
        with pytest.raises(auth.PermissionDenied):
            auth.set_disabled(db, actor, "alice", True)
    assert auth.get_user(db, "alice").role is Role.ADMIN


def test_reset_password_changes_login_and_is_audited(db, admin):
    auth.create_user(db, "bob", "bobs-password-1", "recruiter", actor=auth.OPERATOR)
    auth.reset_password(db, admin, "bob", "fresh-password-9")
    assert auth.authenticate(db, "bob", "fresh-password-9")
    assert auth.authenticate(db, "bob", "bobs-password-1") is None
    entry = db[AUDIT_LOG].find_one({"action": "user.password_reset"})
    assert entry["actor"] == "alice" and entry["entity_id"] == "bob"
    assert "fresh-password-9" not in str(entry)


def test_role_change_is_audited_with_old_and_new(db, admin):
    auth.create_user(db, "bob", "bobs-password-1", "recruiter", actor=auth.OPERATOR)
    auth.set_role(db, admin, "bob", "viewer")
    entry = db[AUDIT_LOG].find_one({"action": "user.role"})
    assert entry["changes"] == {"role": {"old": "recruiter", "new": "viewer"}}


def test_first_admin_created_once_with_generated_password(db):
    name, generated = auth.ensure_first_admin(db, "admin", None)
    assert name == "admin" and generated and len(generated) >= 12
    assert auth.authenticate(db, "admin", generated).role is Role.ADMIN
    assert auth.ensure_first_admin(db, "admin", None) == ("admin", None)
    assert db[USERS].count_documents({}) == 1


def test_has_users_once_one_exists(db):
    assert not auth.has_users(db)
    auth.create_user(db, "bob", "bobs-password-1", "recruiter", actor=auth.OPERATOR)
    assert auth.has_users(db)


def test_user_document_written_as_before_and_read_back_without_hash(db, admin):
    doc = db[USERS].find_one({"_id": "alice"})
    assert set(doc) == {"_id", "username", "name", "email", "role", "password_hash", "disabled",
                        "created_at"}
    assert (doc["username"], doc["name"], doc["email"], doc["role"], doc["disabled"]) == (
        "alice", "Alice", "", "admin", False)
    assert admin == auth.User("alice", "Alice", Role.ADMIN, "", False)
    assert auth.get_user(db, "alice") == admin
    assert auth.list_users(db) == [admin]


def test_a_user_keeps_the_time_zone_they_chose_and_an_unknown_one_changes_nothing(db) -> None:
    user = auth.create_user(db, "tz.user", "a-long-password-1", "recruiter", actor=auth.OPERATOR)
    assert auth.get_user(db, "tz.user").time_zone == ""  # follows the browser until chosen
    auth.set_own_time_zone(db, user, "America/Denver")
    assert auth.get_user(db, "tz.user").time_zone == "America/Denver"
    with pytest.raises(auth.AuthError, match="not a time zone"):
        auth.set_own_time_zone(db, user, "Mars/Olympus")
    assert auth.get_user(db, "tz.user").time_zone == "America/Denver"
    auth.set_own_time_zone(db, user, "")
    assert auth.get_user(db, "tz.user").time_zone == ""
