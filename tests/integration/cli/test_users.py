"""`python -m core.manage create-user` in a real subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

from core import auth

ROOT = Path(__file__).resolve().parents[3]


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.manage", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_create_user_prints_json_and_generated_password(db, test_env):
    result = manage(test_env, "create-user", "dana", "--role", "viewer", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["username"] == "dana" and out["role"] == "viewer"
    assert auth.authenticate(db, "dana", out["password"]) is not None


def test_create_user_bad_input_is_a_clear_error(db, test_env):
    result = manage(test_env, "create-user", "eve", "--role", "boss", "--password", "long-enough-1")
    assert result.returncode == 1
    assert "Role must be one of" in result.stderr
    assert "Traceback" not in result.stderr
    manage(test_env, "create-user", "eve", "--password", "long-enough-1")
    again = manage(test_env, "create-user", "eve", "--password", "long-enough-1", "--json")
    assert again.returncode == 1 and "already exists" in json.loads(again.stdout)["error"]


def test_unreachable_database_is_reported(test_env):
    from tools.embedded_db.launcher import free_port

    env = {**test_env, "MONGODB_URI": f"mongodb://127.0.0.1:{free_port()}"}
    result = manage(env, "create-user", "fred", "--password", "long-enough-1")
    assert result.returncode == 1 and "cannot reach MongoDB" in result.stderr


def test_invalid_configuration_is_reported(test_env):
    result = manage({**test_env, "DASHBOARD_PORT": "not-a-port"}, "create-user", "gus")
    assert result.returncode == 2 and "DASHBOARD_PORT" in result.stderr
