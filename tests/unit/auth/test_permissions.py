"""Who may do what: actions by role, page access, the readable refusal, the stored user."""

from __future__ import annotations

import pytest

from core import auth
from core.auth.models import UserRecord
from core.auth.permissions import ALLOWED, PAGE_ROLES, Action, PermissionDenied, User, can, pages_for, require
from core.auth.roles import Role
from core.errors import UserError

ADMIN = User("ada", "Ada", Role.ADMIN)
RECRUITER = User("rita", "Rita", Role.RECRUITER)
VIEWER = User("vic", "Vic", Role.VIEWER)


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        (ADMIN, set(Action)),
        (RECRUITER, set(Action) - {Action.MANAGE_USERS, Action.EDIT_GLOBAL_SETTINGS, Action.LOAD_DEMO_DATA,
                                   Action.MANAGE_LEGAL_HOLDS, Action.ERASE_CANDIDATES}),
        (VIEWER, {Action.VIEW}),
    ],
)
def test_actions_by_role(user: User, allowed: set[Action]) -> None:
    assert {a for a in Action if can(user, a)} == allowed


def test_every_action_has_its_roles() -> None:
    assert set(ALLOWED) == set(Action)


def test_disabled_and_signed_out_users_may_do_nothing() -> None:
    disabled = User("old", "Old", Role.ADMIN, disabled=True)
    assert not any(can(disabled, a) for a in Action)
    assert not any(can(None, a) for a in Action)


def test_require_returns_the_user_or_refuses_readably() -> None:
    assert require(RECRUITER, Action.LAUNCH_CALLS) is RECRUITER
    with pytest.raises(PermissionDenied, match="A viewer may not launch calls."):
        require(VIEWER, Action.LAUNCH_CALLS)
    with pytest.raises(PermissionDenied, match="A signed-out user may not view."):
        require(None, Action.VIEW)
    assert issubclass(PermissionDenied, UserError) and issubclass(PermissionDenied, PermissionError)


def test_pages_by_role_in_navigation_order() -> None:
    assert pages_for(Role.ADMIN) == list(PAGE_ROLES)
    assert pages_for(Role.RECRUITER) == [p for p in PAGE_ROLES if p != "users"]
    assert pages_for(Role.VIEWER) == [p for p in PAGE_ROLES if p not in ("users", "launch_calls")]
    assert pages_for(Role.ADMIN)[0] == "home"
    # One call's page is opened from links: every role may open it, no sidebar lists it.
    assert all("call" in pages_for(r) and "call" not in auth.menu_for(r) for r in Role)


def test_stored_user_becomes_the_app_user_without_the_hash() -> None:
    record = UserRecord.model_validate({
        "_id": "bob", "username": "bob", "name": "", "email": None, "role": "recruiter",
        "password_hash": "$2b$secret", "disabled": None, "created_at": None, "extra": 1,
    })
    user = record.to_user()
    assert user == User("bob", "bob", Role.RECRUITER, "", False)
    assert "secret" not in repr(user)
    assert UserRecord.model_validate({"username": "x", "role": "admin", "disabled": True}).to_user().disabled


def test_the_package_keeps_exporting_the_public_names() -> None:
    assert auth.User is User and auth.Action is Action and auth.can is can and auth.require is require
    assert auth.PAGE_ROLES is PAGE_ROLES and auth.PermissionDenied is PermissionDenied
    assert auth.Role is Role


def test_page_access_by_role():
    assert "users" in auth.pages_for(Role.ADMIN)
    assert "users" not in auth.pages_for(Role.RECRUITER)
    assert "launch_calls" in auth.pages_for(Role.RECRUITER)
    assert "launch_calls" not in auth.pages_for(Role.VIEWER)
    assert not auth.can(auth.User("v", "v", Role.VIEWER), auth.Action.LAUNCH_CALLS)
    assert not auth.can(auth.User("a", "a", Role.ADMIN, disabled=True), auth.Action.VIEW)
