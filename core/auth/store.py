"""Every query on `users`, and removing the cookie key older versions kept in `app_state`."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from core.auth.models import UserRecord
from core.auth.roles import Role
from core.db import APP_STATE, USERS, insert_new

_NO_HASH = {"password_hash": 0}  # reads for display never carry the hash  # nosec B105
_COOKIE_KEY_ID = "auth_cookie_key"  # a document id, not a key


def insert_user(db: Database, doc: dict[str, Any]) -> bool:
    """Insert a new user document; False when that username exists already."""
    return insert_new(db[USERS], doc)


def get_user(db: Database, username: str) -> UserRecord | None:
    """One user by username, without the password hash."""
    return UserRecord.from_doc(db[USERS].find_one({"_id": str(username)}, _NO_HASH))


def get_user_with_hash(db: Database, username: str) -> UserRecord | None:
    """One user by username, with the password hash (for checking a password)."""
    return UserRecord.from_doc(db[USERS].find_one({"_id": username}))


def list_users(db: Database, limit: int) -> list[UserRecord]:
    """Users sorted by username, without the hashes (at most `limit`)."""
    docs = db[USERS].find({}, _NO_HASH).sort("username", 1).limit(limit)
    return [UserRecord.model_validate(d) for d in docs]


def list_enabled_users(db: Database, limit: int) -> list[UserRecord]:
    """Enabled users with their hashes, for the log-in form (at most `limit`)."""
    return [UserRecord.model_validate(d) for d in db[USERS].find({"disabled": False}).limit(limit)]


def count_active_admins(db: Database) -> int:
    """How many enabled admins there are."""
    return db[USERS].count_documents({"role": Role.ADMIN.value, "disabled": False})


def estimated_user_count(db: Database) -> int:
    """Roughly how many users exist (cheap; exact enough to tell none from some)."""
    return db[USERS].estimated_document_count()


def set_role(db: Database, username: str, role: Role) -> None:
    """Store a user's new role."""
    db[USERS].update_one({"_id": username}, {"$set": {"role": role.value}})


def set_disabled(db: Database, username: str, disabled: bool) -> bool:
    """Disable or enable an account; False when no such user exists."""
    result = db[USERS].update_one({"_id": username}, {"$set": {"disabled": bool(disabled)}})
    return result.matched_count > 0


def set_password_hash(db: Database, username: str, password_hash: str) -> bool:
    """Store a user's new password hash; False when no such user exists."""
    result = db[USERS].update_one({"_id": username}, {"$set": {"password_hash": password_hash}})
    return result.matched_count > 0


def delete_cookie_key(db: Database) -> None:
    """Remove a log-in cookie key stored by an older version (it is never read any more)."""
    db[APP_STATE].delete_one({"_id": _COOKIE_KEY_ID})
