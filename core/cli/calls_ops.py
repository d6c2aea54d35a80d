"""Ops commands for calls: `show-call ID` and `reconcile`."""

from __future__ import annotations

import argparse
from typing import Any

from core.documents.status import TERMINAL_STATUSES
from core.cli.registry import CliError, command, database
from core.config import get_settings
from core.db import CALLS, TRANSCRIPTS
from core.lifecycle import reconcile as reconcile_mod
from core.usage import costs as costs_mod

# Fields of the call document that are internal bookkeeping, not for operators.
_INTERNAL = ("open_key", "followup_lease_until", "followup_seq", "request_body",
             "rendered_prompt")


def _costs(call: dict[str, Any]) -> dict[str, Any]:
    """The call's costs: the stored breakdown when there is one, else computed from its figures."""
    if isinstance(call.get("costs"), dict):
        return call["costs"]
    return costs_mod.call_costs(call, get_settings())


def _outcome(call: dict[str, Any]) -> str:
    status = call.get("status", "")
    if status not in {s.value for s in TERMINAL_STATUSES}:
        return f"not finished ({status})"
    parts = [status.replace("_", " ")]
    if call.get("end_reason"):
        parts.append(f"ended by {call['end_reason']}")
    if call.get("opt_out"):
        parts.append("candidate asked not to be called again")
    if call.get("failure_reason"):
        parts.append(call["failure_reason"])
    return "; ".join(parts)


def _show_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("call_id", metavar="ID", help="our call id (or its Ultravox id / Twilio CallSid)")


@command("show-call", "show one call: status, outcome, transcript size, summary, costs", _show_args)
def show_call(args: argparse.Namespace) -> dict[str, Any]:
    """Print one call as the Contract says; with --json the call document with id and status."""
    ref = (args.call_id or "").strip()
    if not ref or len(ref) > 100 or ref.startswith("$"):
        raise CliError("give a call id")
    db = database()
    call = db[CALLS].find_one({"_id": ref}) or db[CALLS].find_one(
        {"$or": [{"ultravox_call_id": ref}, {"twilio_call_sid": ref}]}
    )
    if call is None:
        raise CliError(f"no call with id {ref}")
    count = call.get("message_count")
    if count is None:
        transcript = db[TRANSCRIPTS].find_one({"_id": call["_id"]}, {"messages": 1})
        count = len(transcript["messages"]) if transcript else 0
    result: dict[str, Any] = {"id": call["_id"]}
    result.update({k: v for k, v in call.items() if k != "_id" and k not in _INTERNAL})
    result["status"] = call.get("status")
    result["outcome"] = _outcome(call)
    result["transcript_message_count"] = count
    result["costs"] = _costs(call)
    summary = call.get("summary") or call.get("short_summary") or "(none yet)"
    c = result["costs"]
    costs = (f"total {c.get('total')} {c.get('currency', '')} (AI {c.get('ai')}"
             f"{' est.' if c.get('ai_estimated') else ''}, telephony {c.get('telephony')}"
             f"{' est.' if c.get('telephony_estimated') else ''})") if c else "(not known yet)"
    if getattr(args, "json", False):
        return result
    result["_text"] = "\n".join([
        f"call:        {call['_id']}",
        f"status:      {call.get('status')}",
        f"outcome:     {result['outcome']}",
        f"transcript:  {count} messages ({call.get('transcript_status') or 'none'})",
        f"summary:     {summary}",
        f"costs:       {costs}",
    ])
    return result


def _reconcile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rounds", type=int, default=1, help="passes to run (1-20)")


@command("reconcile", "re-poll calls whose webhooks were lost and complete them", _reconcile_args)
def reconcile(args: argparse.Namespace) -> dict[str, Any]:
    """Run reconcile passes (what the worker does every 15 s) and report what they did."""
    if not 1 <= args.rounds <= 20:
        raise CliError("--rounds must be between 1 and 20")
    db = database()
    summaries = [reconcile_mod.run_once(db) for _ in range(args.rounds)]
    done = [s for s in summaries if s]
    return {"rounds": args.rounds, "summary": "; ".join(done) or "nothing to do"}
