"""The user service: create, read, change role, disable, reset password, the first admin."""

from __future__ import annotations

import re

from core import audit
from core.auth import store
from core.auth.models import UserRecord
from core.auth.passwords import MIN_PASSWORD_LENGTH, generate_password, hash_password
from core.auth.permissions import Action, User, require
from core.auth.roles import Role
from core.db import Database, utcnow
from core.errors import UserError

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
_LIST_LIMIT = 500  # an internal tool with few users: the list is bounded all the same


class AuthError(UserError, ValueError):
    """Bad input for a user operation; the message is shown to the user as is."""


def _validate(username: str, password: str | None, role: str) -> Role:
    if not _USERNAME.match(username or ""):
        raise AuthError(
            "Username must be 2–32 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.")
    try:
        return Role(role)
    except ValueError:
        raise AuthError(f"Role must be one of: {', '.join(r.value for r in Role)}.") from None


def create_user(
    db: Database,
    username: str,
    password: str,
    role: str,
    *,
    name: str = "",
    email: str = "",
    actor: str = "system",
) -> User:
    """Create a user; raises AuthError on bad input or an existing username."""
    username = (username or "").strip().lower()
    role_value = _validate(username, password, role)
    doc = {
        "_id": username,
        "username": username,
        "name": name.strip() or username,
        "email": email.strip(),
        "role": role_value.value,
        "password_hash": hash_password(password),
        "disabled": False,
        "created_at": utcnow(),
    }
    if not store.insert_user(db, doc):
        raise AuthError(f"A user named '{username}' already exists.")
    audit.record(
        db,
        actor=actor,
        action="user.create",
        entity="user",
        entity_id=username,
        changes={"role": {"old": None, "new": role_value.value}},
    )
    return UserRecord.model_validate(doc).to_user()


def get_user(db: Database, username: str) -> User | None:
    """The user with that name, or None."""
    record = store.get_user(db, username)
    return record.to_user() if record else None


def list_users(db: Database, limit: int = _LIST_LIMIT) -> list[User]:
    """All users, sorted by name (bounded: this is an internal tool with few users)."""
    return [record.to_user() for record in store.list_users(db, limit)]


def has_users(db: Database) -> bool:
    """True once any user exists."""
    return store.estimated_user_count(db) > 0


def _guard_last_admin(db: Database, username: str) -> None:
    record = store.get_user(db, username)
    if (
        record
        and record.role == Role.ADMIN
        and record.active
        and store.count_active_admins(db) <= 1
    ):
        raise AuthError("This is the last active admin; make another admin first.")


def set_role(db: Database, actor: User, username: str, role: str) -> None:
    """Change a user's role (admins only; the last admin cannot be demoted)."""
    require(actor, Action.MANAGE_USERS)
    new_role = _validate(username, None, role)
    record = store.get_user(db, username)
    if not record:
        raise AuthError(f"No user named '{username}'.")
    if record.role == new_role:
        return
    if new_role != Role.ADMIN:
        _guard_last_admin(db, username)
    store.set_role(db, username, new_role)
    audit.record(
        db,
        actor=actor.username,
        action="user.role",
        entity="user",
        entity_id=username,
        changes={"role": {"old": record.role.value, "new": new_role.value}},
    )


def set_disabled(db: Database, actor: User, username: str, disabled: bool) -> None:
    """Disable or re-enable an account (admins only; not yourself, not the last admin)."""
    require(actor, Action.MANAGE_USERS)
    if username == actor.username and disabled:
        raise AuthError("You cannot disable your own account.")
    if disabled:
        _guard_last_admin(db, username)
    if not store.set_disabled(db, username, disabled):
        raise AuthError(f"No user named '{username}'.")
    audit.record(
        db,
        actor=actor.username,
        action="user.disable" if disabled else "user.enable",
        entity="user",
        entity_id=username,
    )


def reset_password(db: Database, actor: User, username: str, new_password: str) -> None:
    """Set a new password for a user (admins only)."""
    require(actor, Action.MANAGE_USERS)
    _validate(username, new_password, Role.VIEWER.value)
    if not store.set_password_hash(db, username, hash_password(new_password)):
        raise AuthError(f"No user named '{username}'.")
    audit.record(
        db, actor=actor.username, action="user.password_reset", entity="user", entity_id=username
    )


def ensure_first_admin(db: Database, username: str, password: str | None) -> tuple[str, str | None]:
    """Create the first admin if no user exists; returns (username, generated password or None)."""
    if has_users(db):
        return username, None
    generated = None
    if not password:
        password = generated = generate_password()
    try:
        create_user(db, username, password, Role.ADMIN.value, name="Administrator")
    except AuthError:
        # Another process created users in the meantime: nothing to do.
        return username, None
    return username, generated
