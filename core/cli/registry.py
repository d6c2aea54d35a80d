"""The CLI's command registry: each command module registers its commands here."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from core import db as dbmod
from core.auth import Role, User

# The ops CLI acts as the operator running it: admin permissions and admin visibility of
# candidates' personal data (core.people.visibility); its actions are audited as "cli".
OPERATOR = User(username="cli", name="Ops CLI", role=Role.ADMIN)


class CliError(Exception):
    """A problem to report to the operator in one line, exiting non-zero."""


Command = Callable[[argparse.Namespace], dict[str, Any]]
_COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(
    name: str, help_text: str, add_args: Callable[[argparse.ArgumentParser], None] = lambda p: None
):
    """Register a CLI command (other modules add theirs with this decorator)."""

    def wrap(func: Command) -> Command:
        _COMMANDS[name] = (func, add_args, help_text)
        return func

    return wrap


def database():
    """The application database, indexed, or a CliError when unreachable."""
    db = dbmod.get_db()
    ok, reason = dbmod.ping(db)
    if not ok:
        raise CliError(f"cannot reach MongoDB at the configured URI ({reason})")
    dbmod.ensure_indexes(db)
    return db
