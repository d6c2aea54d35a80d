"""Ops CLI: `python -m core.manage <command>`; `--json` prints one JSON object."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from pymongo.errors import PyMongoError

from core import auth
from core import db as dbmod
from core.config import describe_error, get_settings


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
            actor="cli",
        )
    except auth.AuthError as exc:
        raise CliError(str(exc)) from None
    result: dict[str, Any] = {"username": user.username, "role": user.role.value}
    if not args.password:
        result["password"] = password
    return result


def _load_command_modules() -> None:
    # Each module of core/cli/ registers its commands with @command when imported.
    import importlib
    import pkgutil

    import core.cli

    for info in pkgutil.iter_modules(core.cli.__path__):
        importlib.import_module(f"core.cli.{info.name}")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run one command, print its result; returns the exit code."""
    _load_command_modules()
    parser = argparse.ArgumentParser(prog="python -m core.manage", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_func, add_args, help_text) in sorted(_COMMANDS.items()):
        p = sub.add_parser(name, help=help_text)
        p.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object"
        )
        add_args(p)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        get_settings()
    except Exception as exc:  # noqa: BLE001 - any settings problem is an operator error
        print(f"error: invalid configuration: {describe_error(exc)}", file=sys.stderr)
        return 2
    func = _COMMANDS[args.command][0]
    try:
        result = func(args)
    except CliError as exc:
        if args.json:
            print(json.dumps({"error": str(exc)}))
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except PyMongoError as exc:
        print(f"error: database problem: {type(exc).__name__}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, default=str))
    else:
        text = result.pop("_text", None)
        if text:
            print(text)
        else:
            for key, value in result.items():
                print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    # Run through the importable module: commands in core/cli/ register with `core.manage`,
    # not with this `__main__` copy of it.
    from core.manage import main as _main

    sys.exit(_main())
