"""kill -9 of the database while the sidecar's settler holds a batch of ended calls.

The settler gathers ended calls and settles them together (usage counters and budget share). If
the database dies under it, the batch is dropped with one log line and nothing is half counted:
after the restart the worker's rollup pass and budget check settle every call exactly once, the
month's budget is in line with the calls, and the sidecar's own threads carry on applying and
settling the next calls without a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient
from twilio.request_validator import RequestValidator

from core import db as dbmod
from core.config import get_settings
from core.db import BUDGETS, CALL_EVENTS, CALLS
from core.lifecycle import applier as applier_module
from core.lifecycle import ingest
from core.usage import budget, budget_store, period, rollups
from sidecar.app import create_app
from tests.faults.test_usage_counts import _counted, _expected
from tests.integration.usage.test_budget import claimed_call, reserve
from tests.support.live_calls import wait
from tools.embedded_db import launcher as embedded_db

pytestmark = pytest.mark.slow  # two JVM starts: 5-10 s on the shared 2-core machine

PATH = "/webhooks/twilio/status"
CALLS_N = 12


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict]:
    """A file-backed embedded database of our own (the test kills and restarts it)."""
    held = {"port": embedded_db.free_port(), "data": tmp_path / "h2" / "outage.mv", "servers": []}
    yield held
    for started in held["servers"]:
        started.stop()


def _start(held: dict) -> None:
    held["servers"].append(embedded_db.start(held["port"], held["data"], timeout=90))


def _post_completed(client, call_id: str, sid: str) -> int:
    query = f"?call={call_id}"
    form = {"CallSid": sid, "CallStatus": "completed", "SequenceNumber": "3", "CallDuration": "75",
            "AccountSid": "AC" + "0" * 32}
    url = get_settings().webhook_base_url + PATH + query
    signature = RequestValidator(get_settings().twilio_token).compute_signature(url, form)
    return client.post(PATH + query, data=form, headers={"X-Twilio-Signature": signature}).status_code


def _settled(db, call_id: str) -> bool:
    """The call's usage counters have landed (its gate moved and its increment is done)."""
    state = db[CALLS].find_one({"_id": call_id}).get("rollup") or {}
    return bool(state.get("seq")) and not state.get("inc_pending")


def _month(db) -> dict:
    return db[BUDGETS].find_one({"_id": budget_store.month_id(period.month_key(None, "UTC"))})


def test_a_database_killed_while_the_settler_holds_a_batch_loses_and_doubles_nothing(
        server, test_env, monkeypatch, caplog) -> None:
    # A longer gather than production's 0.25 s, so that the kill lands while the batch is held.
    monkeypatch.setattr(applier_module, "_SETTLE_GATHER", 3.0)
    caplog.set_level(logging.WARNING, logger=applier_module.__name__)
    _start(server)
    client = MongoClient(server["servers"][-1].uri, serverSelectionTimeoutMS=1500, socketTimeoutMS=5000)
    db = client["outage"]
    dbmod.ensure_indexes(db)
    ids = [f"c{i:02d}" for i in range(CALLS_N + 1)]
    for call_id in ids:
        claimed_call(db, call_id, reserve(db, total="100"))
    reserved = _month(db)["committed_micros"]
    app = create_app(db, followup_in_background=False, apply_after_ack=True)
    web = app.test_client()
    burst, later = ids[:CALLS_N], ids[CALLS_N]

    for call_id in burst:
        assert _post_completed(web, call_id, "CA" + call_id.ljust(32, "0")) == 200
    # Applied and marked so (the endings were handed to the settler just before the marks),
    # while the settler is still gathering: kill -9.
    assert wait(lambda: db[CALL_EVENTS].count_documents({"applied": True}) == CALLS_N, 5)
    server["servers"][-1].kill()
    # The settler's batch meets the dead database (its one log line); only then does it return.
    assert wait(lambda: "ended calls: database error" in caplog.text, 15), caplog.text
    _start(server)

    # Nothing of the batch landed, and nothing acknowledged was lost: every event is there. The
    # applier's "applied" marks may not be (readers saw them before their commit, which the kill
    # cut; their command was never acknowledged): the worker's reconcile applies such events
    # again, which moves nothing twice.
    assert _counted(db) == {} and _month(db)["committed_micros"] == reserved
    assert db[CALL_EVENTS].count_documents({}) == CALLS_N
    ingest.apply_pending(db)
    assert db[CALL_EVENTS].count_documents({"applied": True}) == CALLS_N
    assert db[CALLS].count_documents({"status": "completed"}) == CALLS_N
    assert _counted(db) == {}

    # The sidecar carries on by itself: the next ended call is applied and settled.
    assert _post_completed(web, later, "CA" + later.ljust(32, "0")) == 200
    assert wait(lambda: _settled(db, later), 10)
    assert _counted(db)["calls"] == 1

    # The worker's passes settle the dropped batch, each call once, and the budget with it.
    now = dbmod.utcnow() + timedelta(minutes=2)
    while rollups.sync_stale(db, now=now):
        pass
    assert budget.check_month(db) == f"settled {CALLS_N}"
    assert _counted(db) == _expected(db) and _counted(db)["calls"] == CALLS_N + 1
    costs = sum(d["costs"]["total_micros"] for d in db[CALLS].find())
    assert _month(db)["committed_micros"] == costs < reserved
    # Run again: nothing moves twice.
    assert rollups.sync_stale(db, now=now) == 0 and budget.check_month(db) == ""
    assert _counted(db)["calls"] == CALLS_N + 1 and _month(db)["committed_micros"] == costs
    client.close()
