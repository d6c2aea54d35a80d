"""Maintenance commands."""

from __future__ import annotations

import argparse
from typing import Any

from core.cli.registry import CliError, command, database
from core.review import retention


def _purge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=int, default=None, help="override RETENTION_DAYS for this run")


@command("purge-expired", "delete transcripts and recordings past the retention period", _purge_args)
def purge_expired(args: argparse.Namespace) -> dict[str, Any]:
    """Run the retention purge once and report what went."""
    if args.days is not None and args.days < 1:
        raise CliError("--days must be at least 1")
    summary = retention.purge_expired(database(), retention_days=args.days)
    return {"result": summary or "nothing to purge"}
