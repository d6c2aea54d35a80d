"""`export-candidate` and `erase-candidate` as an operator's script runs them: their `--json`
shapes are Contract (golden files), bad input exits non-zero and changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

from core.lifecycle import reconcile
from core.people import candidates
from tests.contract.test_cli_golden import ROOT, _cli, _compare
from tests.support.live_calls import wait
from tests.support.sandbox_stack import launch, make_job, stack  # noqa: F401 - fixture


def _fails(env: dict[str, str], *args: str) -> str:
    run = subprocess.run([sys.executable, "-m", "core.manage", *args], cwd=ROOT, env={**os.environ, **env},
                         capture_output=True, text=True, timeout=90)
    assert run.returncode == 1, run.stdout
    return run.stderr


def test_export_and_erase_keep_their_json_shape(stack, tmp_path) -> None:  # noqa: F811
    stack.sandbox.state.config.speed = 40  # a whole conversation (200x outruns Ultravox's join timeout)
    job = make_job(stack)
    cand = candidates.add_candidate(stack.db, stack.admin, name="Cora Cli", phone="+14155550106",
                                    consent=True, job_ids=[job.id])
    call = launch(stack, cand.id).call
    assert wait(lambda: (stack.db["calls"].find_one({"_id": call.id}) or {}).get("followup_done_at"), 60,
                step=lambda: reconcile.run_once(stack.db))

    out = tmp_path / "cora.zip"
    exported = _cli(stack.env, "export-candidate", cand.id, "--out", str(out))
    _compare("export-candidate", exported)
    assert exported["calls"] == 1 and exported["recordings"] == 1 and exported["path"] == str(out)
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read("candidate.json"))["candidate"]["name"] == "Cora Cli"
    assert "already exists" in _fails(stack.env, "export-candidate", cand.id, "--out", str(out))

    assert "--yes" in _fails(stack.env, "erase-candidate", cand.id, "--reason", "Subject request 9")
    assert "must not name" in _fails(stack.env, "erase-candidate", cand.id, "--reason", "Cora asked", "--yes")
    assert candidates.get_candidate(stack.db, cand.id) is not None  # nothing changed
    erased = _cli(stack.env, "erase-candidate", cand.id, "--reason", "Subject request 9", "--yes")
    _compare("erase-candidate", erased)
    assert erased["state"] == "done" and erased["removed"]["calls"] == 1
    assert erased["providers"]["ultravox"]["deleted"] == 1 and erased["providers"]["twilio"]["pending"] == 0
    assert "Cora" not in json.dumps(erased)
    again = _fails(stack.env, "erase-candidate", cand.id, "--reason", "Again 12345", "--yes")
    assert "already erased" in again
