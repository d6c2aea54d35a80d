"""Stored auth documents: a user (`users`), a log-in session, a log-in throttle record."""

from __future__ import annotations

from pydantic import Field

from core.auth.permissions import User
from core.auth.roles import Role
from core.documents.base import Document, Instant


class UserRecord(Document):
    """One user as stored; `password_hash` is empty when read without it (the usual case)."""

    username: str = ""
    name: str | None = None
    email: str | None = None
    role: Role = Role.VIEWER
    password_hash: str = ""
    disabled: bool | None = False
    time_zone: str | None = None  # the zone this user reads times in; None: the browser's
    created_at: Instant = None

    @property
    def display_name(self) -> str:
        """The full name, or the username when none was given."""
        return self.name or self.username

    @property
    def active(self) -> bool:
        """True unless the account is disabled."""
        return not self.disabled

    def to_user(self) -> User:
        """The user as the app sees it (without the hash)."""
        return User(
            username=self.username,
            name=self.display_name,
            role=self.role,
            email=self.email if self.email is not None else "",
            disabled=bool(self.disabled),
            time_zone=self.time_zone or "",
        )


class SessionRecord(Document):
    """One log-in session (`auth_sessions`); `_id` is the SHA-256 of the cookie's token."""

    username: str = ""
    created_at: Instant = None
    last_seen: Instant = None
    expires_at: Instant = None


class ThrottleRecord(Document):
    """Recent log-in failures of a (username, address) pair or of a username (`login_throttle`)."""

    username: str = ""
    address: str | None = None
    failures: list[Instant] = Field(default_factory=list)
    locked_until: Instant = None
