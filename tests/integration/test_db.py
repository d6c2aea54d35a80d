"""The database layer against the throwaway server."""

import pytest
from pymongo.errors import DuplicateKeyError

from core import db as dbmod


def test_ping_reports_reachable(db):
    ok, reason = dbmod.ping(db)
    assert ok, reason


def test_ensure_indexes_is_idempotent(db):
    dbmod.ensure_indexes(db)
    dbmod.ensure_indexes(db)
    names = {ix["name"] for ix in db[dbmod.CALLS].list_indexes()}
    assert {"open_key_unique", "ultravox_call_id", "twilio_call_sid"} <= names


def test_open_key_allows_one_open_call_per_candidate_and_job(db):
    calls = db[dbmod.CALLS]
    calls.insert_one({"_id": "a", "open_key": "cand1:job1", "status": "queued"})
    with pytest.raises(DuplicateKeyError):
        calls.insert_one({"_id": "b", "open_key": "cand1:job1", "status": "queued"})
    # Ended calls drop their key, so many closed calls may coexist.
    calls.insert_one({"_id": "c", "status": "completed"})
    calls.insert_one({"_id": "d", "status": "completed"})
    assert calls.count_documents({}) == 3


def test_event_dedupe_key_is_unique(db):
    events = db[dbmod.CALL_EVENTS]
    events.insert_one({"dedupe_key": "uv:1:call.ended"})
    with pytest.raises(DuplicateKeyError):
        events.insert_one({"dedupe_key": "uv:1:call.ended"})


def test_ping_reports_unreachable_database(monkeypatch):
    monkeypatch.setenv("ENV_FILE", "")
    monkeypatch.setenv("MONGODB_URI", f"mongodb://127.0.0.1:{dbmod_free_port()}")
    dbmod.get_client.cache_clear()
    from core.config import get_settings

    get_settings.cache_clear()
    ok, reason = dbmod.ping(dbmod.get_db())
    assert not ok
    assert "unreachable" in reason


def dbmod_free_port() -> int:
    from tools.embedded_db.launcher import free_port

    return free_port()
