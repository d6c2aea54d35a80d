"""What the running dashboard answers without a log-in: not Streamlit's metrics.

The dashboard is started exactly as the Procfile starts it (honcho, `python -m dashboard.serve`)
on a free port. Before: `/_stcore/metrics` answered anyone with the server's metrics.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from core.config import Settings
from tools.embedded_db.launcher import free_port
from tools.stack import honcho_command

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dashboard(mongo_server: str, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update({"ENV_FILE": "", "PYTHONPATH": str(ROOT), "PROVIDER_MODE": "sandbox",
                "SANDBOX_SECRETS_FILE": str(tmp_path_factory.mktemp("secrets") / "s.json"),
                "MONGODB_URI": mongo_server, "MONGODB_DB": f"sec_{uuid.uuid4().hex[:10]}",
                "DASHBOARD_PORT": str(port)})
    log = tmp_path_factory.mktemp("dashboard") / "dashboard.log"
    with log.open("w") as out:
        proc = subprocess.Popen(honcho_command(["dashboard"]), cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if requests.get(base + "/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        else:
            pytest.fail(f"the dashboard did not start:\n{log.read_text()[-3000:]}")
        yield base
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("accept", ["text/plain", "application/x-protobuf"])
def test_metrics_are_not_served(dashboard, accept):
    resp = requests.get(dashboard + "/_stcore/metrics", headers={"Accept": accept}, timeout=5)
    assert resp.status_code == 404
    assert "# TYPE" not in resp.text and "session" not in resp.text
    assert "openmetrics" not in resp.headers.get("content-type", "")


def test_the_dashboard_itself_still_answers(dashboard):
    assert requests.get(dashboard + "/_stcore/health", timeout=5).text == "ok"
