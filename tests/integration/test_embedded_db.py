"""The embedded database launcher: clear errors, and data that survives a restart (H2)."""

import socket

import pytest
from pymongo import MongoClient

from tools.embedded_db import launcher as embedded_db


def test_port_taken_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        with pytest.raises(embedded_db.EmbeddedDbError, match=f"Port {port} is already in use"):
            embedded_db.start(port, None)


def test_missing_jars_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded_db, "JARS", tmp_path / "nothing-here")
    # As on a machine with Java but no mongod and no fetched jars.
    monkeypatch.setattr(embedded_db.shutil, "which",
                        lambda name: None if name == "mongod" else "/usr/bin/java")
    with pytest.raises(embedded_db.EmbeddedDbError, match="make tools"):
        embedded_db.start(embedded_db.free_port(), None)


def test_no_java_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(embedded_db.shutil, "which", lambda name: None)
    with pytest.raises(embedded_db.EmbeddedDbError, match="Java 17"):
        embedded_db.start(embedded_db.free_port(), None)


def test_file_backed_server_keeps_data_across_a_restart(tmp_path):
    data = tmp_path / "db.mv"
    port = embedded_db.free_port()
    server = embedded_db.start(port, data, timeout=90)
    try:
        client = MongoClient(server.uri, serverSelectionTimeoutMS=3000)
        client.t.things.insert_one({"_id": "kept", "n": 1})
        client.close()
    finally:
        server.stop()
    server = embedded_db.start(port, data, timeout=90)
    try:
        client = MongoClient(server.uri, serverSelectionTimeoutMS=3000)
        assert client.t.things.find_one({"_id": "kept"}) == {"_id": "kept", "n": 1}
        assert client.server_info()["version"] == "4.4.0"
        client.close()
    finally:
        server.stop()
