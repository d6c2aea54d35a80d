"""Whole sandbox calls through the sidecar served by gunicorn on a port."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from core.db import CALL_EVENTS, CALLS, CANDIDATES, TRANSCRIPTS
from core.lifecycle import reconcile
from tests.support import live_calls
from tests.support.gunicorn import serving_sidecar
from tests.support.live_calls import complete, launch_screening, wait

pytestmark = pytest.mark.slow
env = live_calls.env


@pytest.fixture
def gunicorn(env) -> Iterator[str]:
    """The sidecar as Procfile runs it, on WEBHOOK_PORT."""
    port = env["WEBHOOK_PORT"]
    options = ["--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "--log-level", "warning"]
    with serving_sidecar(port, {**os.environ, **env}, options, ready_path="/readyz") as base:
        yield base


def test_whole_sandbox_calls_through_gunicorn(db, gunicorn) -> None:
    normal, _ = launch_screening(db, "+12025550123")
    opt_out, opt_cand = launch_screening(db, "+12025550155")
    # The worker's reconcile, run here on the real clock like the sidecar's: a clock ahead of the
    # sidecar's pushed a follow-up it postponed past the sidecar's reach and past this wait (the
    # follow-up backs off 15 s, 30 s, … from the clock of whoever ran it).
    worker = lambda: reconcile.run_once(db)  # noqa: E731

    # The background follow-up and the worker's reconcile finish both calls.
    for call_id in (normal, opt_out):
        assert wait(lambda c=call_id: complete(db[CALLS].find_one({"_id": c})), 90, worker), \
            {k: v for k, v in db[CALLS].find_one({"_id": call_id}).items()
             if k not in ("config_snapshot", "request_body", "prompt")}
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
