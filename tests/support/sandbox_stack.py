"""Fixtures for the launch and dispatch tests: sandbox providers + the real sidecar on ports."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from werkzeug.serving import make_server

from core import auth
from core.agent import settings as agent_settings
from core.agent.models import CallingHours, TimeWindow, Weekday
from core.calling.launch import LaunchResult, launch_call
from core.config import get_settings
from core.documents.job import Job
from core.people.jobs import create_job
from core.providers.telephony import get_twilio
from sandbox.server import SandboxHandle, start_sandbox
from tools.embedded_db.launcher import free_port

ALL_DAY = CallingHours(windows={d: [TimeWindow(start=dt.time(0, 0),
                                               end=dt.time(23, 59, 59, 999999))]
                                for d in Weekday})


def all_day_except_today(zone: str) -> CallingHours:
    """Calling hours open all day on every weekday but today's in `zone` (the candidate's: between
    midnight UTC and midnight in New York, UTC's today is New York's tomorrow)."""
    today = list(Weekday)[datetime.now(ZoneInfo(zone)).weekday()]
    return CallingHours(windows={d: w for d, w in ALL_DAY.windows.items() if d != today})


@dataclass
class Stack:
    """A test database with the sandbox and the webhook sidecar listening."""

    db: Any
    sandbox: SandboxHandle
    admin: auth.User
    recruiter: auth.User
    env: dict[str, str]
    sidecar: Any = None

    def stop_sidecar(self) -> None:
        """Take the webhook receiver down: from now on no provider webhook reaches us."""
        if self.sidecar is not None:
            self.sidecar.shutdown()
            self.sidecar.server_close()
            self.sidecar = None

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
    st = Stack(db, sandbox, admin, recruiter, {**test_env, **env}, server)
    st.set_config(calling_hours=ALL_DAY)
    try:
        yield st
    finally:
        sandbox.stop()
        st.stop_sidecar()
        get_settings.cache_clear()


def make_job(stack: Stack, title: str = "Warehouse lead") -> Job:
    """An open job."""
    return create_job(stack.db, stack.recruiter, title=title, company="Acme Logistics")


def launch(stack: Stack, candidate_id: str) -> LaunchResult:
    """One call now, by the recruiter."""
    return launch_call(stack.db, stack.recruiter, candidate_id)


def foreign_twilio_call(stack: Stack, to: str) -> str:
    """A call placed from our number by someone else (not through our launcher): its CallSid."""
    client = get_twilio()._client  # the SDK pointed at the sandbox, as another app would use it
    call = client.calls.create(to=to, from_=get_settings().twilio_from,
                               twiml="<Response><Say>Hello</Say></Response>")
    return str(call.sid)
