"""Ops commands for candidates' data: `erase-candidate ID --reason TEXT --yes` and
`export-candidate ID --out PATH` (core.privacy)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from core.cli.registry import OPERATOR, CliError, command, database
from core.privacy import access_export, erasure


def _id(value: str) -> str:
    ref = (value or "").strip()
    if not ref or len(ref) > 64 or ref.startswith("$"):
        raise CliError("give a candidate id")
    return ref


def _erase_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("candidate_id", metavar="ID", help="the candidate's id")
    p.add_argument("--reason", required=True, help="why (kept after the erasure: no name, number or email)")
    p.add_argument("--yes", action="store_true", help="confirm: the erasure cannot be undone")


@command("erase-candidate", "erase one candidate's personal data and call content, here and at the "
         "providers (a tombstone stays)", _erase_args)
def erase_candidate(args: argparse.Namespace) -> dict[str, Any]:
    """Erase one candidate; prints the tombstone's facts (no personal data)."""
    ref = _id(args.candidate_id)
    if not args.yes:
        raise CliError("add --yes to confirm: the erasure cannot be undone")
    db = database()
    try:
        done = erasure.erase_candidate(db, OPERATOR, ref, reason=args.reason, confirmed=True)
    except erasure.ErasureRefused as exc:
        raise CliError(str(exc)) from None
    tomb = done.tombstone
    pending = {p: len(ids) for p, ids in (tomb.get("pending") or {}).items()}
    return {
        "erasure_id": done.erasure_id,
        "candidate_id": tomb["candidate_id"],
        "state": tomb["state"],
        "erased_at": tomb["erased_at"].isoformat(),
        "erased_by": tomb["erased_by"],
        "removed": dict(tomb.get("removed") or {}),
        "do_not_call_kept": bool(tomb.get("do_not_call_kept")),
        "providers": {p: {"deleted": int(v.get("deleted", 0)), "already_gone": int(v.get("already_gone", 0)),
                          "pending": pending.get(p, 0)}
                      for p, v in sorted((tomb.get("providers") or {}).items())},
    }


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("candidate_id", metavar="ID", help="the candidate's id")
    p.add_argument("--out", required=True, help="where to write the ZIP (a new file)")


@command("export-candidate", "write everything held about one candidate (JSON + recordings) to a ZIP",
         _export_args)
def export_candidate(args: argparse.Namespace) -> dict[str, Any]:
    """Write the access-request ZIP; prints where and what it holds."""
    ref = _id(args.candidate_id)
    out = Path(args.out)
    if out.exists():
        raise CliError(f"{out} already exists; give a new file name")
    if not out.parent.is_dir():
        raise CliError(f"the folder {out.parent} does not exist")
    db = database()
    try:
        made = access_export.export_candidate(db, OPERATOR, ref)
    except access_export.ExportRefused as exc:
        raise CliError(str(exc)) from None
    # Personal data: readable by the operator only.
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(made.content)
    return {"candidate_id": ref, "path": str(out), "bytes": len(made.content), "calls": made.calls,
            "recordings": made.recordings, "events": made.events, "audit_entries": made.audit_entries}
