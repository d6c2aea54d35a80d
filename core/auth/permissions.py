"""Who may do what: actions, the roles allowed each, the pages each role sees, the signed-in user."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.auth.roles import Role
from core.errors import UserError


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
    LOAD_DEMO_DATA = "load_demo_data"
    MANAGE_LEGAL_HOLDS = "manage_legal_holds"
    ERASE_CANDIDATES = "erase_candidates"  # erasure and access export of one candidate


ALLOWED: dict[Action, frozenset[Role]] = {
    Action.MANAGE_USERS: frozenset({Role.ADMIN}),
    Action.EDIT_GLOBAL_SETTINGS: frozenset({Role.ADMIN}),
    Action.EDIT_JOB_SETTINGS: frozenset({Role.ADMIN, Role.RECRUITER}),
    Action.MANAGE_JOBS: frozenset({Role.ADMIN, Role.RECRUITER}),
    Action.LAUNCH_CALLS: frozenset({Role.ADMIN, Role.RECRUITER}),
    Action.REVIEW_CALLS: frozenset({Role.ADMIN, Role.RECRUITER}),
    Action.VIEW: frozenset({Role.ADMIN, Role.RECRUITER, Role.VIEWER}),
    Action.LOAD_DEMO_DATA: frozenset({Role.ADMIN}),
    Action.MANAGE_LEGAL_HOLDS: frozenset({Role.ADMIN}),
    Action.ERASE_CANDIDATES: frozenset({Role.ADMIN}),
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
    "call": frozenset(Role),  # one call's page (hidden from the sidebar): the calls list's roles
    "pipeline": frozenset(Role),  # the calls page's roles: every role may view a job's pipeline
    "usage": frozenset(Role),
    "users": frozenset({Role.ADMIN}),
    "account": frozenset(Role),
}


@dataclass(frozen=True)
class User:
    """The signed-in user as the app sees it (never carries the password hash)."""

    username: str
    name: str
    role: Role
    email: str = ""
    disabled: bool = False
    time_zone: str = ""  # chosen on My account; "" = the browser's zone


# Who the ops CLI (`python -m core.manage`) and the launcher act as: an operator with shell access
# to the deployment has admin rights. Its name cannot be a username (see users.RESERVED_NAMES),
# so audit entries written as "cli" are always the command line.
OPERATOR = User(username="cli", name="Ops CLI", role=Role.ADMIN)


def can(user: User | None, action: Action) -> bool:
    """True if the user may perform the action."""
    return user is not None and not user.disabled and user.role in ALLOWED[action]


def require(user: User | None, action: Action) -> User:
    """Return the user if allowed, else raise PermissionDenied with a readable reason."""
    if not can(user, action):
        who = user.role.value if user else "signed-out user"
        raise PermissionDenied(f"A {who} may not {action.value.replace('_', ' ')}.")
    assert user is not None  # type narrowing only: can() refused a missing user above  # nosec B101
    return user


def pages_for(role: Role) -> list[str]:
    """Page stems a role may open, in navigation order."""
    return [page for page, roles in PAGE_ROLES.items() if role in roles]


# Pages opened from links only, never listed in the sidebar.
UNLISTED_PAGES = frozenset({"call"})


def menu_for(role: Role) -> list[str]:
    """The pages a role finds in the sidebar, in order (what it may open, unlisted ones aside)."""
    return [page for page in pages_for(role) if page not in UNLISTED_PAGES]
