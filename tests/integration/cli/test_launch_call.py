"""`python -m core.manage launch-call` in a real subprocess, against the sandbox and the sidecar."""

import json
import os
import subprocess
import sys
from pathlib import Path

from core.calling import store as call_store
from core.people import candidates
from tests.support import sandbox_stack
from tests.support.sandbox_stack import Stack, make_job

stack = sandbox_stack.stack

ROOT = Path(__file__).resolve().parents[3]


def add(stack: Stack, job: dict, xx: str) -> dict:
    return candidates.add_candidate(stack.db, stack.recruiter, name=f"Cand {xx}", consent=True,
                                    phone=f"+1 212 555 01{xx}", job_ids=[job.id])


def test_cli_launch_call_prints_the_call_and_a_rerun_does_not_dial_again(stack):
    job = make_job(stack)
    cand = add(stack, job, "07")
    env = {**os.environ, **stack.env}
    first = subprocess.run([sys.executable, "-m", "core.manage", "--json", "launch-call", "--candidate",
                            cand.id], cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=60)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    # Read back after the dial: at sandbox speed its first callbacks may already have moved it on.
    assert out["id"] and out["status"] in ("dialing", "ringing", "in_progress") and out["created"] is True
    # A candidate with an open (queued) call: the CLI reports it and dials nothing.
    queued = add(stack, job, "08")
    open_call, _ = call_store.insert_open_call(
        stack.db, call_store.new_call_doc(queued.id, job.id, actor="test"))
    second = subprocess.run([sys.executable, "-m", "core.manage", "launch-call", "--candidate",
                             queued.id], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == f"{open_call.id} (already open: not dialled again)"
    assert len(stack.dials()) == 1
    bad = subprocess.run([sys.executable, "-m", "core.manage", "launch-call", "--candidate", "nope"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "does not exist" in bad.stderr
