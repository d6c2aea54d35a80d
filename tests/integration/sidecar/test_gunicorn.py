"""Whole sandbox calls through the sidecar served by gunicorn on a port."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from core.db import CALL_EVENTS, CALLS, CANDIDATES, TRANSCRIPTS, utcnow
from core.lifecycle import reconcile
from tests.support import live_calls
from tests.support.live_calls import complete, launch_screening, wait

ROOT = Path(__file__).resolve().parents[3]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
pytestmark = pytest.mark.slow
env = live_calls.env


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

        assert wait(up, 30), "gunicorn did not start"
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_whole_sandbox_calls_through_gunicorn(db, gunicorn) -> None:
    normal, _ = launch_screening(db, "+12025550123")
    opt_out, opt_cand = launch_screening(db, "+12025550155")
    later = lambda: reconcile.run_once(db, now=utcnow() + timedelta(minutes=2))  # noqa: E731

    # The background follow-up and the worker's reconcile (run here) finish both calls.
    assert wait(lambda: complete(db[CALLS].find_one({"_id": normal})), 45, later), \
        db[CALLS].find_one({"_id": normal})
    assert wait(lambda: complete(db[CALLS].find_one({"_id": opt_out})), 30, later)
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
