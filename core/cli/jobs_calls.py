"""CLI commands for candidates and calls: import-candidates, seed-demo, launch-call."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core import labels
from core.auth import PermissionDenied
from core.calling.launch import launch_call
from core.calling.reasons import clean_reason
from core.calling.refusals import LaunchRefused
from core.cli.registry import OPERATOR, CliError, command, database
from core.crypto import CryptoError
from core.documents.status import CallStatus
from core.people import candidates, csv_import, demo

_CLI_USER = OPERATOR  # admin permissions and visibility (core.cli.registry)


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="CSV with name, phone and optionally email, timezone, state, consent, notes")
    p.add_argument("--job", required=True, help="job id")
    p.add_argument("--dry-run", action="store_true", help="only show the report, save nothing")


@command("import-candidates", "import candidates from a CSV into a job", _import_args)
def import_candidates(args: argparse.Namespace) -> dict[str, Any]:
    """Check a CSV, save the accepted rows; exits non-zero when any row was rejected."""
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    db = database()
    data = path.read_bytes()
    try:
        if args.dry_run:
            report = csv_import.preview_import(db, args.job, data)
            created = attached = 0
        else:
            result = csv_import.commit_import(db, _CLI_USER, args.job, data, via="cli")
            report, created, attached = result.report, result.created, result.attached
    except csv_import.ImportFileError as exc:
        raise CliError(str(exc)) from None
    lines = [f"line {r.line}: {r.status}"
             + (f" {r.phone} ({r.zone})" if r.status == "accepted" else "")
             + (f" — {r.reason}" if r.reason else "") for r in report.rows]
    summary = (f"{report.total} rows: {created} new, {attached} added from other jobs, "
               f"{report.duplicate} duplicate, {report.rejected} rejected"
               + (" (dry run, nothing saved)" if args.dry_run else ""))
    out: dict[str, Any] = {
        "job_id": report.job_id, "created": created, "attached": attached,
        "rejected": report.rejected, "duplicate": report.duplicate, "total": report.total,
        "rows": [{"line": r.line, "status": r.status, "name": r.name, "phone": r.phone,
                  "zone": r.zone, "reason": r.reason} for r in report.rows],
    }
    if report.rejected:
        # Saved what was good, but the operator must see a failure exit for the bad rows.
        if not args.json:
            print("\n".join(lines))
        raise CliError(f"{labels.counted(report.rejected, 'row')} rejected; {summary}")
    if not args.json:
        out["_text"] = "\n".join([*lines, summary])
    return out


@command("seed-demo", "create a demo job with candidates for every sandbox outcome")
def seed_demo(args: argparse.Namespace) -> dict[str, Any]:
    """Demo job + one candidate per sandbox outcome; running it again adds nothing (sandbox only)."""
    try:
        seed = demo.seed_demo(database(), _CLI_USER)
    except (demo.DemoRefused, candidates.CandidateError, CryptoError) as exc:
        raise CliError(str(exc)) from None
    text = "\n".join([f"demo job: {seed.job_id}"]
                     + [f"  {c.id}  {c.phone}  {outcome}" for c, outcome in seed.candidates])
    rows = [{"id": c.id, "phone": c.phone, "outcome": outcome} for c, outcome in seed.candidates]
    return {"job_id": seed.job_id, "candidates": rows, **({} if args.json else {"_text": text})}


def _launch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--candidate", required=True, help="candidate id")
    p.add_argument("--job", help="job id (needed when the candidate applies to several jobs)")


@command("launch-call", "place one screening call now", _launch_args)
def launch(args: argparse.Namespace) -> dict[str, Any]:
    """Launch one call (or report the candidate's open call); prints the call id."""
    db = database()
    try:
        result = launch_call(db, _CLI_USER, args.candidate, args.job)
    except (LaunchRefused, PermissionDenied, CryptoError) as exc:
        raise CliError(str(exc)) from None
    call = result.call
    out = {"id": call.id, **{k: v for k, v in call.to_doc().items()
                             if k not in ("_id", "request_body", "rendered_prompt", "config_snapshot",
                                          "status_history")}}
    out["created"] = result.created
    if call.status == CallStatus.FAILED:
        raise CliError(f"call {call.id} failed: {clean_reason(call.failure_reason)}")
    note = "" if result.created else " (already open: not dialled again)"
    if not args.json:
        out["_text"] = f"{call.id}{note}"
    return out
