"""Users, passwords and roles; every permission check of the app lives here."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

import bcrypt
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core import audit
from core.auth.roles import Role
from core.db import APP_STATE, USERS, utcnow
from core.errors import UserError

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD_LENGTH = 10


class AuthError(UserError, ValueError):
    """Bad input for a user operation; the message is shown to the user as is."""


class PermissionDenied(UserError, PermissionError):
    """The user's role does not allow the action."""


class Action(StrEnum):
    """Things a user can attempt; `ALLOWED` says which roles may."""

    MANAGE_USERS = "manage_users"
    EDIT_GLOBAL_SETTINGS = "edit_global_settings"
    EDIT_JOB_SETTINGS = "edit_job_settings"
    MANAGE_JOBS = "manage_jobs"
    LAUNCH_CALLS = "launch_calls"
    REVIEW_CALLS = "review_calls"
    VIEW = "view"


ALLOWED: dict[Action, frozenset[Role]] = {
    Action.MANAGE_USERS: frozenset({Role.ADMIN}),
    Action.EDIT_GLOBAL_SETTINGS: frozenset({Role.ADMIN}),
    Action.EDIT_JOB_SETTINGS: frozenset({Role.ADMIN, Role.RECRUITER}),
    Action.MANAGE_JOBS: frozenset({Role.ADMIN, Role.RECRUITER}),
    Action.LAUNCH_CALLS: frozenset({Role.ADMIN, Role.RECRUITER}),
    Action.REVIEW_CALLS: frozenset({Role.ADMIN, Role.RECRUITER}),
    Action.VIEW: frozenset({Role.ADMIN, Role.RECRUITER, Role.VIEWER}),
}

# Pages (file stems in pages/) and the roles that see them in the navigation.
PAGE_ROLES: dict[str, frozenset[Role]] = {
    "home": frozenset(Role),
    "global_settings": frozenset(Role),
    "job_settings": frozenset(Role),
    "voices": frozenset(Role),
    "jobs_candidates": frozenset(Role),
    "launch_calls": frozenset({Role.ADMIN, Role.RECRUITER}),
    "transcripts": frozenset(Role),
    "usage": frozenset(Role),
    "users": frozenset({Role.ADMIN}),
}


@dataclass(frozen=True)
class User:
    """The signed-in user as the app sees it (never carries the password hash)."""

    username: str
    name: str
    role: Role
    email: str = ""
    disabled: bool = False


def can(user: User | None, action: Action) -> bool:
    """True if the user may perform the action."""
    return user is not None and not user.disabled and user.role in ALLOWED[action]


def require(user: User | None, action: Action) -> User:
    """Return the user if allowed, else raise PermissionDenied with a readable reason."""
    if not can(user, action):
        who = user.role.value if user else "signed-out user"
        raise PermissionDenied(f"A {who} may not {action.value.replace('_', ' ')}.")
    assert user is not None
    return user


def pages_for(role: Role) -> list[str]:
    """Page stems a role may open, in navigation order."""
    return [page for page, roles in PAGE_ROLES.items() if role in roles]


def hash_password(password: str) -> str:
    """bcrypt hash of a password (the only form in which a password is stored)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def check_password(password: str, hashed: str) -> bool:
    """True if the password matches the bcrypt hash."""
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


def generate_password() -> str:
    """A random password that is easy to type (letters and digits, 16 characters)."""
    return secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")


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


def _to_user(doc: dict) -> User:
    return User(
        username=doc["username"],
        name=doc.get("name") or doc["username"],
        role=Role(doc["role"]),
        email=doc.get("email", ""),
        disabled=bool(doc.get("disabled")),
    )


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
    try:
        db[USERS].insert_one(doc)
    except DuplicateKeyError:
        raise AuthError(f"A user named '{username}' already exists.") from None
    audit.record(
        db,
        actor=actor,
        action="user.create",
        entity="user",
        entity_id=username,
        changes={"role": {"old": None, "new": role_value.value}},
    )
    return _to_user(doc)


def get_user(db: Database, username: str) -> User | None:
    """The user with that name, or None."""
    doc = db[USERS].find_one({"_id": str(username)}, {"password_hash": 0})
    return _to_user(doc) if doc else None


def list_users(db: Database, limit: int = 500) -> list[User]:
    """All users, sorted by name (bounded: this is an internal tool with few users)."""
    docs = db[USERS].find({}, {"password_hash": 0}).sort("username", 1).limit(limit)
    return [_to_user(d) for d in docs]


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The user if the password is right and the account is enabled, else None."""
    doc = db[USERS].find_one({"_id": (username or "").strip().lower()})
    if not doc or doc.get("disabled") or not check_password(password, doc["password_hash"]):
        return None
    return _to_user(doc)


def _admin_count(db: Database) -> int:
    return db[USERS].count_documents({"role": Role.ADMIN.value, "disabled": False})


def _guard_last_admin(db: Database, username: str) -> None:
    doc = db[USERS].find_one({"_id": username})
    if (
        doc
        and doc["role"] == Role.ADMIN.value
        and not doc.get("disabled")
        and _admin_count(db) <= 1
    ):
        raise AuthError("This is the last active admin; make another admin first.")


def set_role(db: Database, actor: User, username: str, role: str) -> None:
    """Change a user's role (admins only; the last admin cannot be demoted)."""
    require(actor, Action.MANAGE_USERS)
    new_role = _validate(username, None, role)
    doc = db[USERS].find_one({"_id": username})
    if not doc:
        raise AuthError(f"No user named '{username}'.")
    if doc["role"] == new_role.value:
        return
    if new_role != Role.ADMIN:
        _guard_last_admin(db, username)
    db[USERS].update_one({"_id": username}, {"$set": {"role": new_role.value}})
    audit.record(
        db,
        actor=actor.username,
        action="user.role",
        entity="user",
        entity_id=username,
        changes={"role": {"old": doc["role"], "new": new_role.value}},
    )


def set_disabled(db: Database, actor: User, username: str, disabled: bool) -> None:
    """Disable or re-enable an account (admins only; not yourself, not the last admin)."""
    require(actor, Action.MANAGE_USERS)
    if username == actor.username and disabled:
        raise AuthError("You cannot disable your own account.")
    if disabled:
        _guard_last_admin(db, username)
    result = db[USERS].update_one({"_id": username}, {"$set": {"disabled": bool(disabled)}})
    if result.matched_count == 0:
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
    result = db[USERS].update_one(
        {"_id": username}, {"$set": {"password_hash": hash_password(new_password)}}
    )
    if result.matched_count == 0:
        raise AuthError(f"No user named '{username}'.")
    audit.record(
        db, actor=actor.username, action="user.password_reset", entity="user", entity_id=username
    )


def ensure_first_admin(db: Database, username: str, password: str | None) -> tuple[str, str | None]:
    """Create the first admin if no user exists; returns (username, generated password or None)."""
    if db[USERS].estimated_document_count() > 0:
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


def credentials_for_login(db: Database) -> dict:
    """The credentials dict streamlit-authenticator wants: enabled users, pre-hashed."""
    users = {}
    for doc in db[USERS].find({"disabled": False}).limit(1000):
        users[doc["username"]] = {
            "name": doc.get("name") or doc["username"],
            "email": doc.get("email") or f"{doc['username']}@localhost",
            "password": doc["password_hash"],
            "roles": [doc["role"]],
        }
    return {"usernames": users}


def cookie_key(db: Database, configured: str | None) -> str:
    """The log-in cookie signing key: configured, else generated once and kept in the DB."""
    if configured:
        return configured
    db[APP_STATE].update_one(
        {"_id": "auth_cookie_key"},
        {"$setOnInsert": {"value": secrets.token_urlsafe(48), "created_at": utcnow()}},
        upsert=True,
    )
    return db[APP_STATE].find_one({"_id": "auth_cookie_key"})["value"]
