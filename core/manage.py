"""Ops CLI: `python -m core.manage <command>`; `--json` prints one JSON object."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import pkgutil
import sys

import core.cli
from core import logsafety
from core.cli.registry import _COMMANDS, CliError
from core.config import describe_error, get_settings
from core.db import DatabaseError


def _load_command_modules() -> None:
    # Each module of core/cli/ registers its commands with @command when imported.
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
    logsafety.install_phone_masking()
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
    except DatabaseError as exc:
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
    sys.exit(main())
