"""Ops commands for calls: `show-call ID` and `reconcile`."""

from __future__ import annotations

import argparse
from typing import Any

from core.calling import store as call_store
from core.calling.reasons import clean_reason
from core.cli.registry import CliError, command, database
from core.config import get_settings
from core.documents.call import Call, CallCosts
from core.documents.status import TERMINAL_STATUSES
from core.lifecycle import reconcile as reconcile_mod
from core.lifecycle import store as lifecycle_store
from core.review.answers import answers_for_cli
from core.review.detail import readable
from core.usage import costs as costs_mod

# Fields of the call document that are internal bookkeeping, not for operators.
_INTERNAL = ("open_key", "followup_lease_until", "followup_lease_seq", "followup_seq", "request_body",
             "rendered_prompt", "agent_answers")  # the agent's answers print as "answers"


def _costs(call: Call) -> CallCosts:
    """The call's costs: the stored breakdown when there is one, else computed from its figures."""
    if call.costs is not None:
        return call.costs
    return CallCosts.model_validate(costs_mod.call_costs(call.to_doc(), get_settings()))


def _outcome(call: Call) -> str:
    if call.status not in TERMINAL_STATUSES:
        return f"not finished ({call.status.value})"
    parts = [call.status.value.replace("_", " ")]
    if call.end_reason:
        parts.append(f"ended by {call.end_reason}")
    if call.opt_out:
        parts.append("candidate asked not to be called again")
    if call.failure_reason:
        parts.append(clean_reason(call.failure_reason) or "")
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
    call = call_store.find_call(db, ref)
    if call is None:
        raise CliError(f"no call with id {ref}")
    count = call.message_count
    if count is None:
        count = lifecycle_store.transcript_size(db, call.id)
    costs = _costs(call)
    result: dict[str, Any] = {"id": call.id}
    result.update({k: v for k, v in call.to_doc().items() if k != "_id" and k not in _INTERNAL})
    # The operator reads the summaries in clear (stored encrypted when a key is set).
    for key in ("summary", "short_summary", "voicemail_text"):
        if key in result:
            result[key] = readable(result[key], "(cannot be decrypted)")
    if result.get("failure_reason"):
        result["failure_reason"] = clean_reason(result["failure_reason"])  # an old one may quote a number
    if isinstance(result.get("human_requested"), dict):
        result["human_requested"] = {**result["human_requested"], "reason": readable(
            result["human_requested"].get("reason"), "(cannot be decrypted)")}
    result["status"] = call.status.value
    outcome = _outcome(call)
    result["outcome"] = outcome
    result["transcript_message_count"] = count
    # The stored breakdown as stored; a computed one in full.
    result["costs"] = costs.model_dump(exclude_unset=call.costs is not None)
    # One entry per question of the call's own snapshot, in order (the Contract's "answers").
    result["answers"] = answers_for_cli(db, call)
    summary = result.get("summary") or result.get("short_summary") or "(none yet)"
    costs_line = (f"total {costs.total} {costs.currency} (AI {costs.ai}"
                  f"{' est.' if costs.ai_estimated else ''}, telephony {costs.telephony}"
                  f"{' est.' if costs.telephony_estimated else ''})")
    if getattr(args, "json", False):
        return result
    result["_text"] = "\n".join([
        f"call:        {call.id}",
        f"status:      {call.status.value}",
        f"outcome:     {outcome}",
        f"transcript:  {count} messages ({call.transcript_status or 'none'})",
        f"summary:     {summary}",
        f"costs:       {costs_line}",
        *[f"question {a['question']}: " + ("not asked" if not a["asked"] else
          f"{a['answer'] or '(no reply)'} [{a['source']}]") for a in result["answers"]],
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
