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
    assert {"open_key_unique", "ultravox_call_id_unique", "twilio_call_sid_unique"} <= names


def test_provider_ids_are_unique_once_known_and_absent_until_then(db):
    # Many calls without provider ids (the fields absent) coexist ...
    insert_call(db, id="a")
    insert_call(db, id="b")
    # ... a provider id names one call ...
    insert_call(db, id="c", twilio_call_sid="CA" + "1" * 32, ultravox_call_id="uv-1")
    with pytest.raises(DuplicateKeyError):
        insert_call(db, id="d", twilio_call_sid="CA" + "1" * 32)
    with pytest.raises(DuplicateKeyError):
        insert_call(db, id="e", ultravox_call_id="uv-1")
    # ... and a sparse unique index refuses a second explicit null: why the fields stay absent.
    db[dbmod.CALLS].insert_one({"_id": "f", "twilio_call_sid": None})
    with pytest.raises(DuplicateKeyError):
        db[dbmod.CALLS].insert_one({"_id": "g", "twilio_call_sid": None})


def test_ensure_indexes_migrates_explicit_null_provider_ids_and_the_old_indexes(db):
    calls = db[dbmod.CALLS]
    calls.drop()
    # As an earlier version left them: explicit nulls under plain sparse indexes.
    calls.create_index("ultravox_call_id", sparse=True, name="ultravox_call_id")
    calls.create_index("twilio_call_sid", sparse=True, name="twilio_call_sid")
    calls.insert_many([{"_id": i, "ultravox_call_id": None, "twilio_call_sid": None} for i in "xyz"])
    dbmod.ensure_indexes(db)
    names = {ix["name"] for ix in calls.list_indexes()}
    assert {"ultravox_call_id_unique", "twilio_call_sid_unique"} <= names
    assert not {"ultravox_call_id", "twilio_call_sid"} & names
    assert calls.count_documents({"twilio_call_sid": {"$exists": True}}) == 0
    assert calls.count_documents({"twilio_call_sid": None}) == 3  # absent reads as null


def test_group_insert_groups_concurrent_writers_and_reports_duplicates(db):
    import threading

    events = db[dbmod.CALL_EVENTS]
    group = dbmod.GroupInsert(events, max_group=8)
    results: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def writer(n: int) -> None:
        for j in range(40):
            key = (n * 40 + j) % 300  # 640 inserts, 300 distinct keys
            stored = group.insert({"_id": f"{n}-{j}", "dedupe_key": f"k{key}"})
            with lock:
                results.append((key, stored))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 640
    stored_keys = [key for key, stored in results if stored]
    assert sorted(stored_keys) == list(range(300))  # each key stored once, by one caller
    assert events.count_documents({}) == 300


def test_group_insert_raises_in_every_caller_when_the_write_fails():
    from pymongo import MongoClient

    dead = MongoClient("mongodb://127.0.0.1:9", serverSelectionTimeoutMS=200, connect=False)
    group = dbmod.GroupInsert(dead["x"]["y"])
    with pytest.raises(dbmod.DatabaseError):
        group.insert({"_id": 1})


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
