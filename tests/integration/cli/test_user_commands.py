"""`python -m core.manage create-user` and `unlock-user` in a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core import auth
from core.db import AUDIT_LOG

ROOT = Path(__file__).resolve().parents[3]


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.manage", *args], cwd=ROOT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=60,
    )


def test_a_73_byte_password_is_a_clear_error(db, test_env):
    result = manage(test_env, "create-user", "dora", "--password", "é" * 36 + "a")
    assert result.returncode == 1
    assert "72 bytes" in result.stderr and "Traceback" not in result.stderr
    assert auth.get_user(db, "dora") is None


def test_unlock_user_lifts_a_lock(db, test_env, monkeypatch):
    monkeypatch.setattr("core.auth.login.check_password", lambda password, _hash: False)
    auth.create_user(db, "victim", "victims-password-1", "recruiter", actor=auth.OPERATOR)
    for i in range(5):
        auth.sign_in(db, "victim", f"guess-{i}", client_address="192.0.2.1")
    result = manage(test_env, "unlock-user", "victim", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"username": "victim", "locks_lifted": 1}
    assert db[AUDIT_LOG].find_one({"action": "user.unlock"})["actor"] == "cli"
    again = manage(test_env, "unlock-user", "victim")
    assert again.returncode == 0 and "locks_lifted: 0" in again.stdout


def test_unlock_user_without_a_name_is_a_usage_error(test_env):
    result = manage(test_env, "unlock-user")
    assert result.returncode == 2 and "username" in result.stderr
