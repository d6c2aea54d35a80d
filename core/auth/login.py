"""Signing in: throttle first, then exactly one bcrypt check, then an audited outcome.

The throttle is checked and the attempt counted *before* the password is looked at, in the
database (streamlit-authenticator's own counter lives in the Streamlit session and starts again
on every reload). Whatever the username — unknown, disabled or real — one bcrypt check runs,
so the time an answer takes does not tell which usernames exist.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from core import audit
from core.auth import store, throttle
from core.auth.passwords import check_password, dummy_hash
from core.auth.permissions import User
from core.config import MIN_COOKIE_KEY_LENGTH, ConfigError
from core.db import Database, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a log-in attempt: the user, or why not (and until when it is locked)."""

    user: User | None
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """True when the user is signed in."""
        return self.user is not None


def _audit(db: Database, action: str, username: str, known: bool, detail: str) -> None:
    # A typed username that matches no account is not recorded: people type their password
    # into the username field, and the audit log must not keep it.
    audit.record(
        db,
        actor=username if known else "anonymous",
        action=action,
        entity="user",
        entity_id=username if known else None,
        detail=detail,
    )


def _lock(db: Database, key: str, username: str, known: bool, address: str, now: datetime,
          scope: str) -> datetime:
    until = now + throttle.LOCK_DURATION
    if store.lock(db, key, until):
        _audit(db, "login.locked", username, known, f"{scope} locked until {until:%Y-%m-%d %H:%M} UTC "
               f"(last try from {address})")
        log.warning("log-in locked: %s", scope)
    return until


def sign_in(
    db: Database, username: str, password: str, *, client_address: str, now: datetime | None = None
) -> SignIn:
    """Check a log-in; counts failures per (username, address) and per username, locks, audits."""
    return check_attempt(db, username, password, client_address=client_address, now=now)


def check_attempt(
    db: Database,
    username: str,
    password: str,
    *,
    client_address: str,
    now: datetime | None = None,
    action: str = "login",
) -> SignIn:
    """A throttled password check; `action` names it in the audit log (`login`, `password_change`)."""
    now = now or utcnow()
    name = throttle.normalise_username(username)
    expires = now + throttle.WINDOW
    # 1. Throttle, before any password check. A locked username or pair is refused at once.
    user_record = store.get_throttle(db, throttle.username_key(name))
    if user_record and throttle.is_locked(user_record.locked_until, now):
        return SignIn(None, user_record.locked_until)
    pair = throttle.pair_key(name, client_address)
    reserved = store.reserve_attempt(
        db, pair, username=name, address=client_address, now=now,
        keep=throttle.PAIR_LIMIT + 1, expires_at=expires,
    )
    if reserved is None:
        record = store.get_throttle(db, pair)
        return SignIn(None, record.locked_until if record else now + throttle.LOCK_DURATION)
    record = store.get_user_with_hash(db, name) if name else None
    known = record is not None
    scope_pair = f"log-in of {name if known else 'an unknown username'} from {client_address}"
    if throttle.recent(reserved.failures, now) > throttle.PAIR_LIMIT:
        # Several tries at the same moment: those past the limit are refused unchecked.
        return SignIn(None, _lock(db, pair, name, known, client_address, now, scope_pair))

    # 2. Exactly one bcrypt check, against a stand-in hash when the username is unknown.
    password_ok = check_password(password or "", record.password_hash if record else dummy_hash())
    if record is not None and password_ok and record.active:
        store.clear_throttle(db, pair)
        if action == "login":  # other checks audit the change they guard instead
            _audit(db, "login.success", name, True, f"from {client_address}")
        return SignIn(record.to_user())

    # 3. A failure: audited, counted for the username too, and a lock once a limit is reached.
    if record is None:
        reason = "unknown username"
    elif not password_ok:
        reason = "wrong password"
    else:
        reason = "account disabled"
    _audit(db, f"{action}.failure", name, known, f"{reason}, from {client_address}")
    store.purge_throttles(db, now)
    locked_until = None
    if throttle.recent(reserved.failures, now) >= throttle.PAIR_LIMIT:
        locked_until = _lock(db, pair, name, known, client_address, now, scope_pair)
    by_name = store.record_failure(
        db, throttle.username_key(name), username=name, now=now,
        keep=throttle.USERNAME_LIMIT, expires_at=expires,
    )
    if throttle.recent(by_name.failures, now) >= throttle.USERNAME_LIMIT:
        scope = f"log-in of {name if known else 'an unknown username'} from every address"
        locked_until = _lock(db, throttle.username_key(name), name, known, client_address, now, scope)
    return SignIn(None, locked_until)


def authenticate(db: Database, username: str, password: str) -> User | None:
    """The user if the password is right and the account is enabled, else None (no throttle).

    For scripts and tests that hold the password already; log-in forms use `sign_in`.
    """
    record = store.get_user_with_hash(db, throttle.normalise_username(username))
    if not record or record.disabled or not check_password(password, record.password_hash):
        return None
    return record.to_user()


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
