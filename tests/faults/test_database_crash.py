"""kill -9 of the file-backed embedded database: every acknowledged write survives the restart.

The launcher commits and fsyncs each write command before replying, so a SIGKILL right after
the last acknowledgement loses nothing: not an insert, not an update or delete, not a claim
(a claim rolled back to `queued` would dial the candidate twice). With the library's stock
periodic commit (`durable=False`) the same sequence loses most of it; that is measured in
bench/embedded_db_writes.py rather than asserted here, since how much is lost depends on timing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from tests.factories import call
from tools.embedded_db import launcher as embedded_db

pytestmark = pytest.mark.slow  # two JVM starts each: 5-10 s on the shared 2-core machine

INSERTS = 150
CLAIMS = 50


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    """A fresh H2 file for one test."""
    return tmp_path / "h2" / "crash.mv"


@pytest.fixture
def servers() -> Iterator[list[embedded_db.EmbeddedDb]]:
    """Servers a test started; whatever is still running at the end is stopped."""
    started: list[embedded_db.EmbeddedDb] = []
    yield started
    for server in started:
        server.stop()


def _start(servers: list[embedded_db.EmbeddedDb], port: int, data: Path) -> MongoClient:
    server = embedded_db.start(port, data, timeout=90)
    servers.append(server)
    return MongoClient(server.uri, serverSelectionTimeoutMS=5000, socketTimeoutMS=10000)


def _claim(client: MongoClient, worker: str) -> str | None:
    """The dispatcher's kind of claim: take one queued call and mark it dialling."""
    doc = client.crash.calls.find_one_and_update(
        {"status": "queued"}, {"$set": {"status": "dialing", "claimed_by": worker}},
        projection={"_id": 1}, return_document=ReturnDocument.AFTER)
    return None if doc is None else doc["_id"]


def test_every_kind_of_acknowledged_write_survives_kill_9(data_file: Path, servers: list) -> None:
    port = embedded_db.free_port()
    client = _start(servers, port, data_file)
    db = client.crash
    db.things.create_index("key", unique=True)
    db.scratch.insert_one({"_id": "gone"})
    db.scratch.drop()
    for i in range(INSERTS):
        db.things.insert_one({"_id": i, "key": f"k{i}"})
    for _ in range(20):
        db.counters.update_one({"_id": "webhooks"}, {"$inc": {"n": 1}}, upsert=True)
    for i in range(10):
        assert db.things.delete_one({"_id": i}).deleted_count == 1
    db.calls.insert_many([call(id=f"c{i}", status="queued").to_doc() for i in range(CLAIMS)])
    claimed = [_claim(client, "w1") for _ in range(CLAIMS)]
    assert None not in claimed
    servers[-1].kill()  # right after the last acknowledgement: nothing else gets to commit
    client.close()

    client = _start(servers, port, data_file)
    db = client.crash
    assert sorted(d["_id"] for d in db.things.find({}, {"_id": 1})) == list(range(10, INSERTS))
    assert db.counters.find_one({"_id": "webhooks"}) == {"_id": "webhooks", "n": 20}
    assert "scratch" not in db.list_collection_names()
    assert db.calls.count_documents({"status": "dialing"}) == CLAIMS
    assert _claim(client, "w2") is None  # no claim rolled back to queued: nothing to re-dial
    assert "key_1" in db.things.index_information()
    with pytest.raises(DuplicateKeyError):  # the unique index came back too, and is enforced
        db.things.insert_one({"_id": "dup", "key": "k42"})
    client.close()


def test_concurrent_acknowledged_writes_survive_kill_9(data_file: Path, servers: list) -> None:
    port = embedded_db.free_port()
    client = _start(servers, port, data_file)
    client.crash.calls.insert_many([call(id=f"c{i}", status="queued").to_doc() for i in range(CLAIMS)])
    inserted: dict[int, list[str]] = {}
    claimed: dict[str, list[str]] = {}

    def insert(worker: int) -> None:
        mine = inserted.setdefault(worker, [])
        for i in range(15):
            client.crash.things.insert_one({"_id": f"{worker}-{i}"})
            mine.append(f"{worker}-{i}")

    def claim(worker: str) -> None:
        mine = claimed.setdefault(worker, [])
        while (call_id := _claim(client, worker)) is not None:
            mine.append(call_id)

    threads = [threading.Thread(target=insert, args=(k,)) for k in range(8)]
    threads += [threading.Thread(target=claim, args=(f"w{k}",)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    servers[-1].kill()
    client.close()
    acknowledged = sorted(i for ids in inserted.values() for i in ids)
    assert len(acknowledged) == 8 * 15
    assert sum(len(ids) for ids in claimed.values()) == CLAIMS

    client = _start(servers, port, data_file)
    db = client.crash
    assert sorted(d["_id"] for d in db.things.find({}, {"_id": 1})) == acknowledged
    for worker, ids in claimed.items():
        stored = {d["_id"]: d for d in db.calls.find({"_id": {"$in": ids}})}
        assert {d["status"] for d in stored.values()} == {"dialing"}
        assert {d["claimed_by"] for d in stored.values()} == {worker}  # each claim kept its owner
    assert db.calls.count_documents({"status": "queued"}) == 0
    client.close()
