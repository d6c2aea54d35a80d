"""The test call to a team member's own number, as the job settings page places it."""

from __future__ import annotations

from core.auth import Action, User, require
from core.calling import launch, refusals
from core.db import Database
from core.errors import UserError
from core.people import candidates


class TestCallUnavailable(UserError, RuntimeError):
    """The test call was not placed; the message says why (shown to the user as is)."""


def place_test_call(db: Database, actor: User, job_id: str, phone: str) -> str:
    """Call `phone` (the user's own) with the job's effective config; returns the call id."""
    require(actor, Action.LAUNCH_CALLS)
    try:
        return launch.place_test_call(db, actor, job_id, phone).call.id
    except (refusals.LaunchRefused, candidates.CandidateError, ValueError) as exc:
        raise TestCallUnavailable(str(exc)) from None
