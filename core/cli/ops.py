"""Maintenance commands."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from core import crypto, labels
from core.cli.registry import CliError, command, database
from core.review import reencrypt, retention


def _purge_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=int, default=None, help="override RETENTION_DAYS for this run")


@command("purge-expired", "delete transcripts and recordings past the retention period", _purge_args)
def purge_expired(args: argparse.Namespace) -> dict[str, Any]:
    """Run the retention purge once and report what went."""
    if args.days is not None and args.days < 1:
        raise CliError("--days must be at least 1")
    summary = retention.purge_expired(database(), retention_days=args.days)
    return {"result": summary or "nothing to purge"}


def _reencrypt_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--batch", type=int, default=reencrypt.DEFAULT_BATCH,
                   help=f"documents read per collection and batch (1-{reencrypt.MAX_BATCH})")
    p.add_argument("--max-batches", type=int, default=None,
                   help="stop after this many batches (run again to continue)")


def _rewritten(report: reencrypt.ReencryptReport) -> str:
    """"1 candidate, 3 calls, …": what a run has rewritten so far, in words."""
    return ", ".join(labels.counted(n, noun) for n, noun in (
        (report.candidates, "candidate"), (report.calls, "call"), (report.events, "event"),
        (report.transcripts, "transcript"), (report.answers, "answer"),
        (report.tool_requests, "tool request")))


def _progress(report: reencrypt.ReencryptReport) -> None:
    # Progress goes to stderr so that --json output stays one object.
    print(f"batch {report.batches}: {_rewritten(report)} so far", file=sys.stderr)


@command("reencrypt", "re-encrypt personal data with DATA_ENCRYPTION_KEY and recompute lookup hashes",
         _reencrypt_args)
def reencrypt_command(args: argparse.Namespace) -> dict[str, Any]:
    """Rewrite everything encrypted with an old key (or not yet encrypted) in bounded batches."""
    if not 1 <= args.batch <= reencrypt.MAX_BATCH:
        raise CliError(f"--batch must be between 1 and {reencrypt.MAX_BATCH}")
    if args.max_batches is not None and args.max_batches < 1:
        raise CliError("--max-batches must be at least 1")
    report = reencrypt.reencrypt_all(database(), batch=args.batch, max_batches=args.max_batches,
                                     progress=_progress)
    result = report.as_dict()
    result["encryption"] = "on" if crypto.encryption_enabled() else "off (hashes only)"
    if report.failed:
        counts = ", ".join(f"{labels.counted(n, 'document')} in {k}" for k, n in result["failed"].items())
        raise CliError(f"re-encrypted {_rewritten(report)}; could not rewrite "
                       f"{counts} (ids: {result['failed_ids']}): add the key that wrote them to "
                       "DATA_ENCRYPTION_OLD_KEYS, or merge candidates that share a number, and run again")
    state = "done" if report.complete else "stopped at --max-batches; run again to continue"
    if getattr(args, "json", False):
        return result
    result["_text"] = (f"re-encrypted {_rewritten(report)} in "
                       f"{labels.counted(report.batches, 'batch', 'batches')}: {state}")
    return result
