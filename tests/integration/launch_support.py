"""Fixtures for the launch and dispatch tests: sandbox providers + the real sidecar on ports."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.serving import make_server

from core import auth
from core.agent import settings as agent_settings
from core.agent.models import CallingHours, TimeWindow, Weekday
from core.config import get_settings
from core.people.jobs import create_job
from sandbox.server import SandboxHandle, start_sandbox
from tools.embedded_db.launcher import free_port

ALL_DAY = CallingHours(windows={d: [TimeWindow(start=dt.time(0, 0),
                                               end=dt.time(23, 59, 59, 999999))]
                                for d in Weekday})


@dataclass
class Stack:
    """A test database with the sandbox and the webhook sidecar listening."""

    db: Any
    sandbox: SandboxHandle
    admin: auth.User
    recruiter: auth.User
    env: dict[str, str]

    def dials(self) -> list[dict[str, Any]]:
        """Every Twilio create-call request the sandbox received (the ground truth of dialling)."""
        return self.sandbox.received("twilio", "create_call")

    def set_config(self, **fields: Any) -> None:
        """Change global settings (calling hours default to all day for tests)."""
        cfg = agent_settings.get_global_config(self.db)
        agent_settings.save_global_config(self.db, self.admin, cfg.model_copy(update=fields))


@pytest.fixture
def stack(db, test_env, monkeypatch) -> Iterator[Stack]:
    """Sandbox at high speed and the real sidecar, both on free ports, for one test."""
    sandbox_port, webhook_port = free_port(), free_port()
    env = {"SANDBOX_PORT": str(sandbox_port), "WEBHOOK_PORT": str(webhook_port),
           "SANDBOX_SPEED": "200", "RING_TIMEOUT_SECONDS": "5"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    sandbox = start_sandbox(sandbox_port)
    from sidecar.app import create_app

    server = make_server("127.0.0.1", webhook_port, create_app(db), threaded=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    admin = auth.create_user(db, "admin1", "password-123", "admin", actor=auth.OPERATOR)
    recruiter = auth.create_user(db, "rec1", "password-123", "recruiter", actor=auth.OPERATOR)
    st = Stack(db, sandbox, admin, recruiter, {**test_env, **env})
    st.set_config(calling_hours=ALL_DAY)
    try:
        yield st
    finally:
        sandbox.stop()
        server.shutdown()
        server.server_close()
        get_settings.cache_clear()


def make_job(stack: Stack, title: str = "Warehouse lead") -> dict:
    """An open job."""
    return create_job(stack.db, stack.recruiter, title=title, company="Acme Logistics")
