"""`python -m core.manage import-candidates` and `seed-demo` in real subprocesses."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core import auth
from core.db import CANDIDATES
from core.people.jobs import create_job
from tests.support.candidate_csv import BAD_ROWS

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def job(db):
    recruiter = auth.create_user(db, "rec1", "password-123", "recruiter", actor=auth.OPERATOR)
    return create_job(db, recruiter, title="Driver", company="Acme")


def _cli(test_env, *args):
    return subprocess.run([sys.executable, "-m", "core.manage", *args], cwd=ROOT,
                          env={**os.environ, **test_env}, capture_output=True, text=True,
                          timeout=60)


def test_cli_import_exits_non_zero_on_rejected_rows_and_seed_demo_is_idempotent(
        db, job, test_env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_ROWS)
    run = _cli(test_env, "import-candidates", str(bad), "--job", job.id)
    assert run.returncode == 1
    assert "9 rows rejected" in run.stderr and "line 3: rejected" in run.stdout
    good = tmp_path / "good.csv"
    good.write_text("name,phone\nNew Person,+1 415 555 0120\n")
    run = _cli(test_env, "--json", "import-candidates", str(good), "--job", job.id)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["created"] == 1
    missing = _cli(test_env, "import-candidates", str(tmp_path / "nope.csv"), "--job", job.id)
    assert missing.returncode == 1 and "no such file" in missing.stderr

    first = _cli(test_env, "--json", "seed-demo")
    assert first.returncode == 0, first.stderr
    seeded = json.loads(first.stdout)
    outcomes = {c["outcome"]: c["phone"] for c in seeded["candidates"]}
    assert outcomes == {"answered": "+12125550100", "no_answer": "+12125550150",
                        "busy": "+12125550151", "voicemail": "+12125550152",
                        "rejected": "+12125550153", "dropped": "+12125550154",
                        "opt_out": "+12125550155", "corrects_answer": "+12125550156",
                        "asks_for_human": "+12125550157", "asks_for_callback": "+12125550158"}
    second = json.loads(_cli(test_env, "--json", "seed-demo").stdout)
    assert second == seeded
    # Ann's number (+12125550100) existed already: the demo job was attached to her record.
    assert db[CANDIDATES].count_documents({"job_ids": seeded["job_id"]}) == 10
