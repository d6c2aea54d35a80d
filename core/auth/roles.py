"""User roles."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user may do: admins configure, recruiters run calls, viewers read."""

    ADMIN = "admin"
    RECRUITER = "recruiter"
    VIEWER = "viewer"
