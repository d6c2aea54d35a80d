"""Every query on `users`, `auth_sessions` and `login_throttle`, and auth's `app_state` entries
(the active-admin count; removing the cookie key older versions kept there).

Each state change is one single-document atomic operation (the embedded database has no
transactions, and none is needed): the users' role/disabled changes are compare-and-set on the
state read, the active-admin count is a conditional `$inc`, a log-in attempt is reserved with a
conditional `$push`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core.auth.models import SessionRecord, ThrottleRecord, UserRecord
from core.auth.roles import Role
from core.db import APP_STATE, LOGIN_THROTTLE, SESSIONS, USERS, insert_new

_NO_HASH = {"password_hash": 0}  # reads for display never carry the hash  # nosec B105
_COOKIE_KEY_ID = "auth_cookie_key"  # a document id, not a key
_ADMIN_COUNT_ID = "active_admins"


# --- users ---------------------------------------------------------------------------------------


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


def count_active_admins(db: Database) -> int:
    """How many enabled admins there are."""
    return db[USERS].count_documents({"role": Role.ADMIN.value, "disabled": {"$ne": True}})


def estimated_user_count(db: Database) -> int:
    """Roughly how many users exist (cheap; exact enough to tell none from some)."""
    return db[USERS].estimated_document_count()


def change_access(
    db: Database,
    username: str,
    *,
    expect_role: Role,
    expect_disabled: bool | None,
    role: Role,
    disabled: bool,
) -> bool:
    """Set role and disabled only if the user still has the expected ones (compare-and-set)."""
    # A document without `disabled` (written by hand) counts as enabled, as at log-in.
    was_disabled: Any = True if expect_disabled is True else {"$ne": True}
    result = db[USERS].update_one(
        {"_id": username, "role": expect_role.value, "disabled": was_disabled},
        {"$set": {"role": role.value, "disabled": bool(disabled)}},
    )
    return result.matched_count > 0


def set_time_zone(db: Database, username: str, zone: str | None) -> bool:
    """Remember the zone a user reads times in (None: the browser's); False for no such user."""
    return db[USERS].update_one({"_id": username}, {"$set": {"time_zone": zone}}).matched_count == 1


def set_password_hash(db: Database, username: str, password_hash: str) -> bool:
    """Store a user's new password hash; False when no such user exists."""
    result = db[USERS].update_one({"_id": username}, {"$set": {"password_hash": password_hash}})
    return result.matched_count > 0


# --- the active-admin count (the last-admin guard) -----------------------------------------------


def admin_count_exists(db: Database) -> bool:
    """True once the active-admin count has been set up."""
    return db[APP_STATE].find_one({"_id": _ADMIN_COUNT_ID}, {"_id": 1}) is not None


def init_admin_count(db: Database, count: int) -> None:
    """Store the active-admin count unless it exists (the first writer wins)."""
    db[APP_STATE].update_one(
        {"_id": _ADMIN_COUNT_ID}, {"$setOnInsert": {"count": count}}, upsert=True
    )


def take_admin_slot(db: Database) -> bool:
    """Count one active admin fewer, only if at least two are counted; False otherwise."""
    doc = db[APP_STATE].find_one_and_update(
        {"_id": _ADMIN_COUNT_ID, "count": {"$gte": 2}}, {"$inc": {"count": -1}}
    )
    return doc is not None


def give_admin_slot(db: Database) -> None:
    """Count one active admin more."""
    db[APP_STATE].update_one({"_id": _ADMIN_COUNT_ID}, {"$inc": {"count": 1}})


def admin_count(db: Database) -> int | None:
    """The counted number of active admins (None before it is set up)."""
    doc = db[APP_STATE].find_one({"_id": _ADMIN_COUNT_ID})
    return None if doc is None else int(doc["count"])


# --- sessions ------------------------------------------------------------------------------------


def insert_session(db: Database, record: SessionRecord) -> None:
    """Store a new log-in session."""
    db[SESSIONS].insert_one(record.model_dump(by_alias=True))


def get_session(db: Database, session_id: str) -> SessionRecord | None:
    """One session by id (the hash of its token)."""
    return SessionRecord.from_doc(db[SESSIONS].find_one({"_id": session_id}))


def touch_session(db: Database, session_id: str, now: datetime, unless_after: datetime) -> None:
    """Set `last_seen` to now unless it is already later than `unless_after` (one write a minute)."""
    db[SESSIONS].update_one(
        {"_id": session_id, "last_seen": {"$lt": unless_after}}, {"$set": {"last_seen": now}}
    )


def delete_session(db: Database, session_id: str) -> None:
    """Forget one session."""
    db[SESSIONS].delete_one({"_id": session_id})


def delete_sessions(db: Database, username: str) -> int:
    """Forget every session of a user; returns how many there were."""
    return db[SESSIONS].delete_many({"username": username}).deleted_count


def delete_stale_sessions(db: Database, username: str, idle_before: datetime, now: datetime) -> None:
    """Forget a user's sessions unused since `idle_before` or past their expiry."""
    db[SESSIONS].delete_many(
        {"username": username, "$or": [{"last_seen": {"$lt": idle_before}}, {"expires_at": {"$lt": now}}]}
    )


# --- log-in throttle -----------------------------------------------------------------------------


def get_throttle(db: Database, key: str) -> ThrottleRecord | None:
    """One throttle record by key."""
    return ThrottleRecord.from_doc(db[LOGIN_THROTTLE].find_one({"_id": key}))


def reserve_attempt(
    db: Database, key: str, *, username: str, address: str, now: datetime, keep: int, expires_at: datetime
) -> ThrottleRecord | None:
    """Note an attempt as a failure before the password is checked, unless the key is locked.

    Returns the record after the push, or None when it is locked. One atomic operation: two
    attempts at the same moment are both counted, so a burst cannot slip past the limit.
    """
    unlocked = {"$or": [{"locked_until": None}, {"locked_until": {"$lte": now}}]}
    try:
        doc = db[LOGIN_THROTTLE].find_one_and_update(
            {"_id": key, **unlocked},
            {
                "$push": {"failures": {"$each": [now], "$slice": -keep}},
                "$set": {"username": username, "address": address},
                "$max": {"expires_at": expires_at},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
    except DuplicateKeyError:
        return None  # the record exists and is locked: the upsert's insert collided with it
    return ThrottleRecord.model_validate(doc)


def record_failure(
    db: Database, key: str, *, username: str, now: datetime, keep: int, expires_at: datetime
) -> ThrottleRecord:
    """Add a failure to a record (created if missing); returns the record after the push."""
    doc = db[LOGIN_THROTTLE].find_one_and_update(
        {"_id": key},
        {
            "$push": {"failures": {"$each": [now], "$slice": -keep}},
            "$set": {"username": username},
            "$max": {"expires_at": expires_at},
        },
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    return ThrottleRecord.model_validate(doc)


def lock(db: Database, key: str, until: datetime) -> bool:
    """Lock a key until then; False when it was locked already (so the lock is noted once)."""
    result = db[LOGIN_THROTTLE].update_one(
        {"_id": key, "$or": [{"locked_until": None}, {"locked_until": {"$lt": until}}]},
        {"$set": {"locked_until": until}, "$max": {"expires_at": until}},
    )
    return result.modified_count > 0


def clear_throttle(db: Database, key: str) -> None:
    """Forget a key's failures (after a successful log-in)."""
    db[LOGIN_THROTTLE].delete_one({"_id": key})


def delete_throttles(db: Database, username: str) -> list[ThrottleRecord]:
    """Forget every failure and lock of a username; returns what was removed."""
    docs = [ThrottleRecord.model_validate(d) for d in db[LOGIN_THROTTLE].find({"username": username})]
    if docs:
        db[LOGIN_THROTTLE].delete_many({"_id": {"$in": [d.id for d in docs]}})
    return docs


def purge_throttles(db: Database, now: datetime) -> None:
    """Drop records whose failures and lock are all over (the embedded server has no TTL)."""
    db[LOGIN_THROTTLE].delete_many({"expires_at": {"$lt": now}})


# --- the cookie signing key ----------------------------------------------------------------------


def delete_cookie_key(db: Database) -> None:
    """Remove a log-in cookie key stored by an older version (it is never read any more)."""
    db[APP_STATE].delete_one({"_id": _COOKIE_KEY_ID})
