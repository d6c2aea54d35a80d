"""The sidecar served by gunicorn on a port, for the tests that need a real server process."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


@contextmanager
def serving_sidecar(port: str | int, env: dict[str, str], options: list[str], *,
                    ready_path: str = "/healthz", timeout: float = 30) -> Iterator[str]:
    """Start `gunicorn <options> sidecar.app:create_app()` with exactly `env`; yield its base URL
    once `ready_path` answers 200; stop it afterwards."""
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([str(GUNICORN), *options, "sidecar.app:create_app()"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(base + ready_path, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError("the sidecar did not start under gunicorn")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
