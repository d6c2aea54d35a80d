"""Stalled clients cannot stall the sidecar: gunicorn as the Procfile runs it, on a free port.

Before: 12 connections that sent half a request held every thread and `/healthz` went
unanswered for 40 s. Now each request must arrive within WEBHOOK_READ_TIMEOUT_SECONDS and
there are threads to spare meanwhile.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from core.config import Settings
from tests.support.gunicorn import serving_sidecar
from tools.embedded_db.launcher import free_port

ROOT = Path(__file__).resolve().parents[2]
READ_TIMEOUT = 2.0
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sidecar(tmp_path_factory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update({"ENV_FILE": "", "PYTHONPATH": str(ROOT), "PROVIDER_MODE": "sandbox",
                "SANDBOX_SECRETS_FILE": str(tmp_path_factory.mktemp("secrets") / "s.json"),
                # /healthz needs no database; an unreachable one keeps the test self-contained.
                "MONGODB_URI": f"mongodb://127.0.0.1:{free_port()}", "WEBHOOK_PORT": str(port),
                "WEBHOOK_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT)})
    with serving_sidecar(port, env, ["-c", "sidecar/gunicorn_conf.py"]) as base:
        yield base


def stall(base: str, count: int, kind: str) -> list[socket.socket]:
    """Open `count` connections that send part of a request and then wait."""
    port = int(base.rsplit(":", 1)[1])
    partial = {
        "headers": b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
        "body": b"POST /webhooks/ultravox HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 5000\r\n\r\n{\"event\":",
    }[kind]
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(partial)
        socks.append(s)
    time.sleep(0.3)  # let the server pick them up
    return socks


def healthz_seconds(base: str) -> float:
    started = time.monotonic()
    assert requests.get(base + "/healthz", timeout=30).status_code == 200
    return time.monotonic() - started


@pytest.mark.parametrize("kind", ["headers", "body"])
def test_twelve_stalled_requests_do_not_block_healthz(sidecar, kind):
    socks = stall(sidecar, 12, kind)
    try:
        assert healthz_seconds(sidecar) < 1.0
    finally:
        for s in socks:
            s.close()


def test_a_stalled_connection_is_closed_after_the_read_timeout(sidecar):
    (sock,) = stall(sidecar, 1, "headers")
    sock.settimeout(READ_TIMEOUT + 5)
    started = time.monotonic()
    try:
        data = sock.recv(100)
    except ConnectionResetError:
        data = b""
    finally:
        sock.close()
    assert data == b"" and time.monotonic() - started < READ_TIMEOUT + 2


def test_even_more_stalled_clients_than_threads_wait_at_most_the_read_timeout(sidecar):
    socks = stall(sidecar, 40, "headers")  # 2 workers x 16 threads = 32
    try:
        assert healthz_seconds(sidecar) < READ_TIMEOUT + 2
    finally:
        for s in socks:
            s.close()
