"""The user service: create, read, change role, disable, passwords, unlock, the first admin.

Every change is checked here against the acting user as stored now (not as a page remembers
them), so a page that forgets a check, or an admin demoted a minute ago, cannot manage users.

The last-admin guard needs no transaction: an `active_admins` count in `app_state` is lowered
with one conditional update (only while it is at least 2) *before* an admin is demoted or
disabled, and raised only *after* someone became an active admin. So the count is never more
than the real number of active admins, and a removal is only allowed while it says 2 or more:
however many removals run at once, at least one active admin remains.
"""

from __future__ import annotations

import re
from datetime import datetime

from core import audit, labels
from core.auth import sessions, store
from core.auth.login import check_attempt
from core.auth.models import UserRecord
from core.auth.passwords import generate_password, hash_password, password_problem
from core.auth.permissions import OPERATOR, Action, PermissionDenied, User, require
from core.auth.roles import Role
from core.auth.throttle import normalise_username
from core.db import Database, utcnow
from core.errors import UserError
from core.timezones import valid_zone

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
# Names the audit log uses for someone other than a user: nobody may sign in as them.
RESERVED_NAMES = frozenset({OPERATOR.username, "system", "anonymous", "operator"})
_LIST_LIMIT = 500  # an internal tool with few users: the list is bounded all the same
_CAS_ATTEMPTS = 5  # compare-and-set retries when two admins change the same user at once


class AuthError(UserError, ValueError):
    """Bad input for a user operation; the message is shown to the user as is."""


def _validate(username: str, password: str | None, role: str) -> Role:
    if not _USERNAME.match(username or "") or username in RESERVED_NAMES:
        raise AuthError(
            "Username must be 2–32 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (and not one of: "
            f"{', '.join(sorted(RESERVED_NAMES))})."
        )
    if password is not None and (problem := password_problem(password)):
        raise AuthError(problem)
    try:
        return Role(role)
    except ValueError:
        raise AuthError(f"Role must be one of: {', '.join(r.value for r in Role)}.") from None


def _authorised(db: Database, actor: User | None) -> User:
    """The actor as stored now, if they may manage users; PermissionDenied otherwise."""
    if actor == OPERATOR:
        return OPERATOR
    record = store.get_user(db, actor.username) if actor else None
    return require(record.to_user() if record else None, Action.MANAGE_USERS)


def _active_admin(role: Role, disabled: bool | None) -> bool:
    return role == Role.ADMIN and disabled is not True


def _ensure_admin_count(db: Database) -> None:
    # Set up once, from the users themselves, before the first change that moves it.
    if not store.admin_count_exists(db):
        store.init_admin_count(db, store.count_active_admins(db))


def create_user(
    db: Database,
    username: str,
    password: str,
    role: str,
    *,
    actor: User,
    name: str = "",
    email: str = "",
) -> User:
    """Create a user (admins and the operator only); AuthError on bad input or an existing name."""
    actor = _authorised(db, actor)
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
    if role_value == Role.ADMIN:
        _ensure_admin_count(db)  # counted before the insert, so the +1 below is not counted twice
    if not store.insert_user(db, doc):
        raise AuthError(f"A user named '{username}' already exists.")
    if role_value == Role.ADMIN:
        store.give_admin_slot(db)
    audit.record(
        db,
        actor=actor.username,
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


def _change_access(
    db: Database, username: str, *, role: Role | None = None, disabled: bool | None = None
) -> UserRecord | None:
    """Apply a role and/or disabled change under the last-admin guard; the old record, or None
    when nothing changed."""
    for _ in range(_CAS_ATTEMPTS):
        record = store.get_user(db, username)
        if record is None:
            raise AuthError(f"No user named '{username}'.")
        new_role = role or record.role
        new_disabled = bool(record.disabled) if disabled is None else disabled
        if new_role == record.role and new_disabled == bool(record.disabled):
            return None
        was = _active_admin(record.role, record.disabled)
        becomes = _active_admin(new_role, new_disabled)
        _ensure_admin_count(db)
        if was and not becomes and not store.take_admin_slot(db):
            raise AuthError("This is the last active admin; make another admin first.")
        if store.change_access(
            db, username, expect_role=record.role, expect_disabled=record.disabled,
            role=new_role, disabled=new_disabled,
        ):
            if becomes and not was:
                store.give_admin_slot(db)
            return record
        # Someone changed this user between our read and our write: give back what we took
        # and start again from what is stored now.
        if was and not becomes:
            store.give_admin_slot(db)
    raise AuthError(f"'{username}' is being changed by someone else right now; try again.")


def set_role(db: Database, actor: User, username: str, role: str) -> None:
    """Change a user's role (admins only; the last admin cannot be demoted); ends their sessions."""
    actor = _authorised(db, actor)
    new_role = _validate(username, None, role)
    old = _change_access(db, username, role=new_role)
    if old is None:
        return
    sessions.end_sessions(db, username)
    audit.record(
        db,
        actor=actor.username,
        action="user.role",
        entity="user",
        entity_id=username,
        changes={"role": {"old": old.role.value, "new": new_role.value}},
    )


def set_disabled(db: Database, actor: User, username: str, disabled: bool) -> None:
    """Disable or re-enable an account (admins only; not yourself, not the last admin)."""
    actor = _authorised(db, actor)
    if username == actor.username and disabled:
        raise AuthError("You cannot disable your own account.")
    if _change_access(db, username, disabled=bool(disabled)) is None:
        return
    if disabled:
        sessions.end_sessions(db, username)
    audit.record(
        db,
        actor=actor.username,
        action="user.disable" if disabled else "user.enable",
        entity="user",
        entity_id=username,
    )


def reset_password(db: Database, actor: User, username: str, new_password: str) -> None:
    """Set a new password for a user (admins only); ends every session of that user."""
    actor = _authorised(db, actor)
    if problem := password_problem(new_password):
        raise AuthError(problem)
    if not store.set_password_hash(db, username, hash_password(new_password)):
        raise AuthError(f"No user named '{username}'.")
    sessions.end_sessions(db, username)
    audit.record(
        db, actor=actor.username, action="user.password_reset", entity="user", entity_id=username
    )


def set_own_time_zone(db: Database, user: User, zone: str | None) -> None:
    """Remember the zone the signed-in user reads times in (None or "": follow the browser)."""
    zone = (zone or "").strip() or None
    if zone is not None and not valid_zone(zone):
        raise AuthError(f"'{zone}' is not a time zone this server knows; choose one from the list.")
    if not store.set_time_zone(db, user.username, zone):
        raise PermissionDenied("This account no longer exists.")


def change_own_password(
    db: Database,
    user: User,
    current: str,
    new_password: str,
    *,
    client_address: str,
    now: datetime | None = None,
) -> None:
    """Change the signed-in user's own password; the current one is required (and throttled).

    Every session of the user ends, this one included: the next page asks for the new password.
    """
    if problem := password_problem(new_password):
        raise AuthError(problem)
    check = check_attempt(
        db, user.username, current, client_address=client_address, now=now, action="password_change"
    )
    if check.locked_until is not None and not check.ok:
        raise AuthError(
            f"Too many wrong passwords: try again after {check.locked_until:%H:%M} UTC."
        )
    if not check.ok:
        raise AuthError("The current password is not right.")
    if current == new_password:
        raise AuthError("The new password must differ from the current one.")
    if not store.set_password_hash(db, user.username, hash_password(new_password)):
        raise PermissionDenied("This account no longer exists.")
    sessions.end_sessions(db, user.username)
    audit.record(
        db, actor=user.username, action="user.password_change", entity="user", entity_id=user.username
    )


def unlock_user(db: Database, username: str, *, actor: User, now: datetime | None = None) -> int:
    """Lift the log-in locks of a username and forget its failures; returns the locks lifted."""
    actor = _authorised(db, actor)
    now = now or utcnow()
    name = normalise_username(username)
    if not name:
        raise AuthError("Give the username to unlock.")
    removed = store.delete_throttles(db, name)
    locks = sum(1 for r in removed if r.locked_until is not None and r.locked_until > now)
    audit.record(
        db, actor=actor.username, action="user.unlock", entity="user", entity_id=name,
        detail=f"{labels.counted(locks, 'lock')} lifted, "
               f"{labels.counted(len(removed), 'failure record')} removed",
    )
    return locks


def ensure_first_admin(db: Database, username: str, password: str | None) -> tuple[str, str | None]:
    """Create the first admin if no user exists; returns (username, generated password or None)."""
    if has_users(db):
        return username, None
    generated = None
    if not password:
        password = generated = generate_password()
    try:
        create_user(db, username, password, Role.ADMIN.value, name="Administrator", actor=OPERATOR)
    except AuthError:
        # Another process created users in the meantime: nothing to do.
        return username, None
    return username, generated
