"""Whole sandbox calls through the sidecar served by gunicorn on a port, and reconcile alone."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from core import auth
from core.agent import settings as agent_settings
from core.calling import launch
from core.config import get_settings
from core.db import CALL_EVENTS, CALLS, CANDIDATES, TRANSCRIPTS, utcnow
from core.lifecycle import reconcile
from core.people import candidates
from core.people.jobs import create_job
from sandbox.server import start_sandbox
from tests.integration.launch_support import ALL_DAY
from tools.embedded_db.launcher import free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
pytestmark = pytest.mark.slow


def _complete(doc: dict | None) -> bool:
    return bool(doc and doc.get("status") == "completed" and doc.get("transcript_status") ==
                "stored" and doc.get("summary") and doc.get("billing_status")
                and doc.get("telephony_price") and doc.get("followup_done_at"))


def _wait(predicate, timeout: float, step=None):
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


@pytest.fixture
def gunicorn(env) -> Iterator[str]:
    """The sidecar as Procfile runs it, on WEBHOOK_PORT."""
    base = f"http://127.0.0.1:{env['WEBHOOK_PORT']}"
    proc = subprocess.Popen(
        [str(GUNICORN), "--bind", f"127.0.0.1:{env['WEBHOOK_PORT']}", "--workers", "2",
         "--threads", "4", "--log-level", "warning", "sidecar.app:create_app()"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def up() -> bool:
            try:
                return requests.get(base + "/readyz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        assert _wait(up, 30), "gunicorn did not start"
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _launch(db, phone: str) -> tuple[str, str]:
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


def test_whole_sandbox_calls_through_gunicorn(db, gunicorn) -> None:
    normal, _ = _launch(db, "+12025550123")
    opt_out, opt_cand = _launch(db, "+12025550155")
    later = lambda: reconcile.run_once(db, now=utcnow() + timedelta(minutes=2))  # noqa: E731

    # The background follow-up and the worker's reconcile (run here) finish both calls.
    assert _wait(lambda: _complete(db[CALLS].find_one({"_id": normal})), 45, later), \
        db[CALLS].find_one({"_id": normal})
    assert _wait(lambda: _complete(db[CALLS].find_one({"_id": opt_out})), 30, later)
    doc = db[CALLS].find_one({"_id": normal})
    assert "open_key" not in doc and doc["end_reason"]
    assert doc["billed_duration_seconds"] > 0 and doc["billing_status"] == "BILLING_STATUS_BILLED"
    assert float(doc["telephony_price"]) > 0 and doc["price_unit"] == "USD"
    transcript = db[TRANSCRIPTS].find_one({"_id": normal})
    assert len(transcript["messages"]) == doc["message_count"] >= 4
    assert {"agent", "user"} <= {m["role"] for m in transcript["messages"]}
    webhooks = db[CALL_EVENTS].count_documents({"call_id": normal, "source": "webhook"})
    assert webhooks >= 6  # Twilio progress + Ultravox lifecycle, each stored once
    assert db[CALL_EVENTS].count_documents({"call_id": None}) == 0
    # The opt-out call: candidate marked do-not-call from this call.
    assert db[CALLS].find_one({"_id": opt_out})["opt_out"] is True
    cand = db[CANDIDATES].find_one({"_id": opt_cand})
    assert cand["do_not_call"] is True and cand["do_not_call_call_id"] == opt_out


def test_reconcile_recovers_a_call_whose_webhooks_never_arrived(db, env) -> None:
    # No sidecar listens on WEBHOOK_PORT: every webhook of this call is lost.
    call_id, _ = _launch(db, "+12025550124")
    sid = db[CALLS].find_one({"_id": call_id})["twilio_call_sid"]
    from core.providers.telephony import get_twilio

    assert _wait(lambda: get_twilio().fetch_call(sid).status == "completed", 30)
    assert db[CALL_EVENTS].count_documents({}) == 0
    assert db[CALLS].find_one({"_id": call_id})["status"] == "dialing"
    later = lambda: reconcile.run_once(db, now=utcnow() + timedelta(minutes=10))  # noqa: E731
    assert _wait(lambda: _complete(db[CALLS].find_one({"_id": call_id})), 30, later), \
        db[CALLS].find_one({"_id": call_id})
    kinds = {e["dedupe_key"].split(":")[-1] for e in db[CALL_EVENTS].find({"call_id": call_id})}
    assert {"call.ended", "call.billed"} <= kinds
