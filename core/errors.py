"""One base for every error whose message is written for the person who caused it.

Pages and the CLI catch `UserError` and show its text as is; anything else is a bug and
surfaces as one (logged, never shown raw to a recruiter).
"""

from __future__ import annotations


class UserError(Exception):
    """A refusal or bad input; the message says what is wrong and what to do, in plain words."""
