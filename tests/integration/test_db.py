"""The database layer against the throwaway server."""

import pytest
from pymongo.errors import DuplicateKeyError

from core import db as dbmod
from tests.factories import insert_call, insert_event


def test_ping_reports_reachable(db):
    ok, reason = dbmod.ping(db)
    assert ok, reason


def test_ensure_indexes_is_idempotent(db):
    dbmod.ensure_indexes(db)
    dbmod.ensure_indexes(db)
    names = {ix["name"] for ix in db[dbmod.CALLS].list_indexes()}
    assert {"open_key_unique", "ultravox_call_id", "twilio_call_sid"} <= names


def test_open_key_allows_one_open_call_per_candidate_and_job(db):
    insert_call(db, id="a", open_key="cand1:job1", status="queued")
    with pytest.raises(DuplicateKeyError):
        insert_call(db, id="b", open_key="cand1:job1", status="queued")
    # Ended calls drop their key, so many closed calls may coexist.
    insert_call(db, id="c", status="completed")
    insert_call(db, id="d", status="completed")
    assert db[dbmod.CALLS].count_documents({}) == 3


def test_event_dedupe_key_is_unique(db):
    insert_event(db, dedupe_key="uv:1:call.ended")
    with pytest.raises(DuplicateKeyError):
        insert_event(db, dedupe_key="uv:1:call.ended")


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
