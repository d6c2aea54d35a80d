"""A user document (`users`) as stored, and how it becomes the app's `User`."""

from __future__ import annotations

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
        )
