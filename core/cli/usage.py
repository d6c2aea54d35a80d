"""Ops commands for usage and cost: `rebuild-rollups`, `usage-export`."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from core.cli.registry import CliError, command, database
from core.usage import costs, rollups
from core.usage import export as calls_export


def _no_args(p: argparse.ArgumentParser) -> None:
    pass


@command("rebuild-rollups", "recompute the usage page's daily counters from the calls", _no_args)
def rebuild_rollups(args: argparse.Namespace) -> dict[str, Any]:
    """Recompute every usage rollup from the calls; prints what it counted."""
    db = database()
    try:
        report = rollups.rebuild(db)
    except rollups.RebuildRunning as exc:
        raise CliError(str(exc)) from None
    return {**report.as_dict(), **rollups.status(db).as_dict()}


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {value!r}") from None


def _export_args(p: argparse.ArgumentParser) -> None:
    # Days in the organisation's time zone (Global settings), as on the usage page.
    p.add_argument("--from", dest="start", type=_day, required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", type=_day, required=True, help="last day, YYYY-MM-DD")
    p.add_argument("--job", default=None, help="only this job's calls")
    p.add_argument("--out", required=True, help="CSV file to write")


@command("usage-export", "write the ended calls of a date range (and job) as CSV", _export_args)
def usage_export(args: argparse.Namespace) -> dict[str, Any]:
    """Stream the filtered calls to a CSV file; its totals match the usage page's."""
    db = database()
    try:
        with Path(args.out).open("w", newline="", encoding="utf-8") as out:
            result = calls_export.export_csv(db, out, args.start, args.end, args.job)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write {args.out}: {exc.strerror}") from None
    total = costs.money_str(result.total_micros, micros=True)
    return {"rows": result.rows, "truncated": result.truncated, "total_cost": total, "file": args.out}
