"""Ops commands for users."""

from __future__ import annotations

import argparse
from typing import Any

from core import auth
from core.cli.registry import CliError, command, database


def _create_user_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("username")
    p.add_argument("--role", default="recruiter", help="admin, recruiter or viewer")
    p.add_argument("--name", default="")
    p.add_argument("--email", default="")
    p.add_argument("--password", help="omit to generate one (printed once)")


@command("create-user", "create a dashboard user", _create_user_args)
def create_user(args: argparse.Namespace) -> dict[str, Any]:
    """Create a user; prints the generated password when none was given."""
    password = args.password or auth.generate_password()
    try:
        user = auth.create_user(
            database(),
            args.username,
            password,
            args.role,
            name=args.name,
            email=args.email,
            actor=auth.OPERATOR,  # the command line acts as an operator with admin rights
        )
    except auth.AuthError as exc:
        raise CliError(str(exc)) from None
    result: dict[str, Any] = {"username": user.username, "role": user.role.value}
    if not args.password:
        result["password"] = password
    return result


def _unlock_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("username")


@command("unlock-user", "lift the log-in locks of a user (after too many failed log-ins)", _unlock_args)
def unlock_user(args: argparse.Namespace) -> dict[str, Any]:
    """Lift every log-in lock of a username and forget its recent failures."""
    try:
        lifted = auth.unlock_user(database(), args.username, actor=auth.OPERATOR)
    except auth.AuthError as exc:
        raise CliError(str(exc)) from None
    return {"username": args.username.strip().lower(), "locks_lifted": lifted}
