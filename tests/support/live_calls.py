"""Whole sandbox calls placed by the real launcher, for the gunicorn and reconcile tests.

`env` is a fixture (re-export it in the test module): the sandbox at high speed in this process
and settings pointing at free ports for it and for the sidecar.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from core import auth
from core.agent import settings as agent_settings
from core.calling import launch
from core.config import get_settings
from core.people import candidates
from core.people.jobs import create_job
from sandbox.server import start_sandbox
from tests.support.sandbox_stack import ALL_DAY
from tools.embedded_db.launcher import free_port


def complete(doc: dict | None) -> bool:
    """True once a call has everything a finished call gets: outcome, transcript, billing, price."""
    return bool(doc and doc.get("status") == "completed" and doc.get("transcript_status") ==
                "stored" and doc.get("summary") and doc.get("billing_status")
                and doc.get("telephony_price") and doc.get("followup_done_at"))


def wait(predicate, timeout: float, step=None):
    """The first truthy value of `predicate` within `timeout` s, running `step` between tries."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if step:
            step()
        time.sleep(0.2)
    return predicate()


@pytest.fixture
def env(db, test_env, monkeypatch) -> Iterator[dict[str, str]]:
    """Sandbox providers at high speed in this process, settings pointing at free ports."""
    values = {"SANDBOX_PORT": str(free_port()), "WEBHOOK_PORT": str(free_port()),
              "SANDBOX_SPEED": "100", "RING_TIMEOUT_SECONDS": "5", "LOG_LEVEL": "WARNING"}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    sandbox = start_sandbox(int(values["SANDBOX_PORT"]))
    try:
        yield {**test_env, **values}
    finally:
        sandbox.stop()
        get_settings.cache_clear()


def launch_screening(db, phone: str) -> tuple[str, str]:
    """Launch one screening call with the real launcher; returns (call id, candidate id)."""
    admin = auth.get_user(db, "adm")
    if not admin:
        admin = auth.create_user(db, "adm", "password-123", "admin", actor=auth.OPERATOR)
        cfg = agent_settings.get_global_config(db)
        agent_settings.save_global_config(db, admin, cfg.model_copy(update={"calling_hours": ALL_DAY}))
    job = create_job(db, admin, title="Warehouse lead", company="Acme Logistics")
    cand = candidates.add_candidate(db, admin, name="Pat Doe", phone=phone, consent=True,
                                    timezone="America/New_York", job_ids=[job.id])
    result = launch.launch_call(db, admin, cand.id, job.id)
    return result.call.id, cand.id
