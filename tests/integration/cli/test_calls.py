"""`python -m core.manage show-call` and `reconcile`: one real subprocess, the rest in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core import manage
from core.db import TRANSCRIPTS, utcnow
from core.documents.call import Call
from tests.factories import insert_launched_call

ROOT = Path(__file__).resolve().parents[3]


def _finished_call(db) -> Call:
    call = insert_launched_call(db, status="completed", summary="Strong candidate, available soon.",
                                end_reason="agent_hangup", message_count=2, transcript_status="stored",
                                billed_duration_seconds=61.5, billing_status="BILLING_STATUS_BILLED",
                                telephony_price="0.01400", price_unit="USD", duration_seconds=61,
                                answered_at=utcnow(), ended_at=utcnow())
    db[TRANSCRIPTS].insert_one({"_id": call.id, "messages": [
        {"role": "agent", "text": "Hello"}, {"role": "user", "text": "Hi"}]})
    return call


# The Contract's entry point as operators run it: a real `python -m core.manage` process (the
# commands register in core.cli.registry, so running the module as __main__ finds them all).
def test_show_call_subprocess_json(db, test_env) -> None:
    call = _finished_call(db)
    result = subprocess.run([sys.executable, "-m", "core.manage", "show-call", call.id,
                             "--json"], cwd=ROOT, env={**os.environ, **test_env},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["id"] == call.id and out["status"] == "completed"
    assert out["transcript_message_count"] == 2
    assert out["costs"]["telephony"] == "0.014" and out["costs"]["telephony_estimated"] is False
    assert "open_key" not in out and "_text" not in out


def test_show_call_text(db, test_env, capsys) -> None:
    call = _finished_call(db)
    assert manage.main(["show-call", call.id]) == 0
    out = capsys.readouterr().out
    assert "status:      completed" in out
    assert "2 messages" in out and "Strong candidate" in out
    assert "ended by agent_hangup" in out and "total" in out


def test_show_call_by_provider_id_and_unknown_id(db, test_env, capsys) -> None:
    call = _finished_call(db)
    assert manage.main(["--json", "show-call", call.twilio_call_sid]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == call.id
    assert manage.main(["show-call", "nope"]) == 1
    assert "no call with id nope" in capsys.readouterr().err


def test_reconcile_command(db, test_env, capsys) -> None:
    assert manage.main(["--json", "reconcile"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"] == "nothing to do"
    assert manage.main(["reconcile", "--rounds", "0"]) == 1
