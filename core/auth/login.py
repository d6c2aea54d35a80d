"""Signing in: password check, the log-in form's credentials, the cookie signing key."""

from __future__ import annotations

from typing import Any

from core.auth import store
from core.auth.passwords import check_password
from core.auth.permissions import User
from core.config import MIN_COOKIE_KEY_LENGTH, ConfigError
from core.db import Database

_LOGIN_LIMIT = 1000  # bounds the credentials handed to the log-in form


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The user if the password is right and the account is enabled, else None."""
    record = store.get_user_with_hash(db, (username or "").strip().lower())
    if not record or record.disabled or not check_password(password, record.password_hash):
        return None
    return record.to_user()


def credentials_for_login(db: Database) -> dict[str, Any]:
    """The credentials dict streamlit-authenticator wants: enabled users, pre-hashed."""
    # A plain dict is the library's input format; it is built fresh on every call because the
    # library mutates what it is given.
    users: dict[str, Any] = {}
    for record in store.list_enabled_users(db, _LOGIN_LIMIT):
        users[record.username] = {
            "name": record.display_name,
            "email": record.email or f"{record.username}@localhost",
            "password": record.password_hash,
            "roles": [record.role.value],
        }
    return {"usernames": users}


def cookie_key(configured: str | None) -> str:
    """The log-in cookie signing key: the configured one (never kept in or read from the DB)."""
    # Settings.cookie_key is AUTH_COOKIE_KEY, or in sandbox mode the one generated into .data/.
    if not configured or len(configured) < MIN_COOKIE_KEY_LENGTH:
        raise ConfigError(
            f"AUTH_COOKIE_KEY must be set, at least {MIN_COOKIE_KEY_LENGTH} characters long."
        )
    return configured


def forget_stored_cookie_key(db: Database) -> None:
    """Delete the cookie key older versions generated and kept in the database."""
    store.delete_cookie_key(db)
