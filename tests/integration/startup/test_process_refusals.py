"""Every process refuses a bad configuration at start with one clear line and exit status 2:
the dashboard, the sidecar (gunicorn), the worker, the ops CLI and `make run`'s launcher."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import Settings
from tools.embedded_db.launcher import free_port

ROOT = Path(__file__).resolve().parents[3]
PY = sys.executable
PROCESSES = {
    "dashboard": [PY, "-m", "dashboard.serve"],
    "sidecar": [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "sidecar/gunicorn_conf.py",
                "sidecar.app:create_app()"],
    "worker": [PY, "-m", "worker"],
    "cli": [PY, "-m", "core.manage", "show-call", "x"],
    "make run": [PY, "-m", "tools.stack"],
}
PARTIAL = {"ULTRAVOX_API_KEY": "abcdefgh.abcdefghabcdefghabcdefghabcd", "TWILIO_ACCOUNT_SID": "AC" + "2" * 32}
LIVE_WITHOUT_KEYS = {
    "PROVIDER_MODE": "live", **PARTIAL, "TWILIO_AUTH_TOKEN": "tok-tok-tok",
    "TWILIO_FROM_NUMBER": "+14155550100",
    "ULTRAVOX_WEBHOOK_SECRET": "s", "PUBLIC_BASE_URL": "https://hooks.example.com",
}


def run(command: list[str], extra: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update({"ENV_FILE": "", "PYTHONPATH": str(ROOT), "SANDBOX_SECRETS_FILE": str(tmp_path / "s.json"),
                "DASHBOARD_PORT": str(free_port()), "WEBHOOK_PORT": str(free_port()),
                "EMBEDDED_DB_PORT": str(free_port()), **extra})
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def refusal_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "configuration" in line.lower()]
    assert len(lines) == 1, result.stderr[-2000:]
    return lines[0]


@pytest.mark.parametrize("process", list(PROCESSES))
def test_partial_credentials_stop_every_process_naming_the_missing_variables(process, tmp_path):
    line = refusal_line(run(PROCESSES[process], PARTIAL, tmp_path))
    for name in ("TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "PROVIDER_MODE"):
        assert name in line
    assert PARTIAL["ULTRAVOX_API_KEY"] not in line  # names, never values


@pytest.mark.parametrize("process", ["dashboard", "sidecar", "worker", "cli"])
def test_live_mode_without_its_keys_stops_every_process(process, tmp_path):
    line = refusal_line(run(PROCESSES[process], LIVE_WITHOUT_KEYS, tmp_path))
    for name in ("DATA_ENCRYPTION_KEY", "AUTH_COOKIE_KEY", "MONGODB_URI"):
        assert f"{name} is not set" in line
    assert "Fernet.generate_key()" in line


@pytest.mark.parametrize("process", ["dashboard", "sidecar"])
def test_sandbox_mode_refuses_to_listen_beyond_this_machine(process, tmp_path):
    line = refusal_line(run(PROCESSES[process], {"PROVIDER_MODE": "sandbox", "DASHBOARD_BIND": "0.0.0.0",
                                                 "WEBHOOK_BIND": "0.0.0.0"}, tmp_path))
    assert "DASHBOARD_BIND=0.0.0.0" in line and "WEBHOOK_BIND=0.0.0.0" in line


def test_gunicorn_without_the_config_file_stops_too_instead_of_restarting_workers(tmp_path):
    result = run([str(ROOT / ".venv" / "bin" / "gunicorn"), "-b", f"127.0.0.1:{free_port()}",
                  "sidecar.app:create_app()"], PARTIAL, tmp_path)
    assert result.returncode == 4  # gunicorn's "App failed to load": the master stops
    assert "sidecar: configuration refused: PROVIDER_MODE is unset" in result.stderr


@pytest.mark.parametrize("process", ["sidecar", "worker"])
def test_live_processes_refuse_the_embedded_database(process, tmp_path, mongo_server):
    live = {**LIVE_WITHOUT_KEYS, "DATA_ENCRYPTION_KEY": "x3V8W5cM6M0kzQ5n1p3Zb2m9L1vZ4cXyqY3m8JQyH1A=",
            "AUTH_COOKIE_KEY": "c" * 48, "LOOKUP_HASH_KEY": "l" * 40, "RECORDING_URL_KEY": "r" * 40,
            "TOOL_AUTH_KEY": "t" * 40, "MONGODB_URI": mongo_server}  # the test session's embedded server
    line = refusal_line(run(PROCESSES[process], live, tmp_path))
    assert "embedded stand-in" in line and "replica set" in line
