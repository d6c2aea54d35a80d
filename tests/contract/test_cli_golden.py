"""The ops CLI's `--json` output is a Contract: key sets and JSON types are pinned in golden files.

The three commands run as subprocesses against the sandbox and the real sidecar, exactly as an
operator's script would call them. A key that appears, disappears or changes type fails the
test; change the Contract deliberately with `UPDATE_GOLDEN=1` and say so in the README.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sandbox.state import wait_until
from tests.support.sandbox_stack import stack  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"


def _cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-m", "core.manage", "--json", *args], cwd=ROOT,
                         env={**os.environ, **env}, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "number", str: "str", list: "list",
            dict: "object"}[type(value)]


def shape(value: Any, depth: int = 2) -> Any:
    """Key set and JSON type of each value, two objects deep (a list by its first item).

    Deeper levels (the stored configuration snapshot, say) are the call's data, not the
    Contract: they are pinned as "object" / "list" only.
    """
    if depth == 0 and isinstance(value, dict | list):
        return _kind(value)
    if isinstance(value, dict):
        return {k: shape(v, depth - 1) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0], depth)] if value else []
    return _kind(value)


def _compare(name: str, value: Any, *, may_add: bool = False, cleared: tuple[str, ...] = ()) -> None:
    """`value` has the golden shape; with `may_add`, keys beyond it are allowed (not fewer);
    `cleared` keys may be null or absent (a field the call drops once it is over)."""
    path = GOLDEN / f"{name}.json"
    got = shape(value)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n")
    want = json.loads(path.read_text())
    if may_add:
        got = {k: v for k, v in got.items() if k in want}
    for key in cleared:
        if got.get(key, "null") == "null":
            got[key] = want[key]
    assert got == want, f"{name} --json changed shape; see {path.name}"


def test_seed_launch_show_keep_their_json_shape(stack) -> None:  # noqa: F811
    seeded = _cli(stack.env, "seed-demo")
    _compare("seed-demo", seeded)
    answered = next(c for c in seeded["candidates"] if c["outcome"] == "answered")
    launched = _cli(stack.env, "launch-call", "--candidate", answered["id"])
    # The call is read back after the dial: at sandbox speed (200×, slower still on a loaded
    # machine's clock) its callbacks may already have moved it on (ringing, answered, even
    # over), adding their own fields to the golden ones; a call that is over has no open key.
    over = launched["status"] == "completed"
    _compare("launch-call", launched, may_add=launched["status"] != "dialing",
             cleared=("open_key",) if over else ())
    assert launched["status"] in ("dialing", "ringing", "in_progress", "completed")
    assert launched["created"] is True

    def settled() -> bool:
        # Every piece a finished call gets: webhooks and the follow-up race, so wait for all.
        call = stack.db["calls"].find_one({"_id": launched["id"]}) or {}
        return call.get("status") == "completed" and all(
            call.get(k) for k in ("followup_done_at", "joined_at", "summary", "short_summary",
                                  "billing_status", "telephony_price", "message_count"))

    try:
        # Generous: on a loaded 2-core machine the sandbox's clock and the follow-up lag.
        wait_until(settled, 120, "the sandbox call did not finish and follow up")
    except TimeoutError:
        call = stack.db["calls"].find_one({"_id": launched["id"]}) or {}
        print("call when the wait ended:", {k: call.get(k) for k in (
            "status", "followup_done_at", "joined_at", "summary", "billing_status", "telephony_price",
            "message_count", "needs_followup", "followup_next_at", "followup_attempts")})
        raise
    shown = _cli(stack.env, "show-call", launched["id"])
    _compare("show-call", shown)
    assert shown["id"] == launched["id"] and shown["status"] == "completed"
    assert shown["transcript_message_count"] > 0
    # One entry per question of the call's own snapshot, in order, each recorded by the agent.
    snapshot = stack.db["calls"].find_one({"_id": launched["id"]})["config_snapshot"]
    assert [a["question"] for a in shown["answers"]] == list(
        range(1, len(snapshot["config"]["screening_questions"]) + 1))
    assert [a["id"] for a in shown["answers"]] == [
        q["id"] for q in snapshot["config"]["screening_questions"]]
    assert all(a["asked"] and a["answer"] and a["source"] == "agent" for a in shown["answers"])
