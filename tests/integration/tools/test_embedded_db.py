"""The embedded database launcher: clear errors, and data that survives a restart (H2)."""

import hashlib
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


@pytest.mark.parametrize(
    ("backend", "durable"), [("memory", False), ("h2", True), ("h2", False)],
    ids=["memory", "h2-durable", "h2-periodic-commit"],
)
def test_build_info_marks_the_embedded_stand_in(tmp_path, backend, durable):
    data = tmp_path / "db.mv" if backend == "h2" else None
    server = embedded_db.start(embedded_db.free_port(), data, timeout=90, durable=durable)
    try:
        client = MongoClient(server.uri, serverSelectionTimeoutMS=3000)
        info = client.admin.command("buildInfo")
        wire_version = client.admin.command("isMaster")["maxWireVersion"]
        client.close()
    finally:
        server.stop()
    assert info["embeddedStandIn"] is True
    assert info["embeddedBackend"] == backend
    assert info["durableWrites"] is durable
    assert (info["version"], info["versionArray"], wire_version) == ("4.4.0", [4, 4, 0], 9)


def test_classes_compiled_from_other_source_are_not_used(tmp_path, monkeypatch):
    # .tools is shared by checkouts: only classes stamped with this source's hash may run.
    source = tmp_path / "EmbeddedMongo.java"
    source.write_text("class EmbeddedMongo {}\n")
    stamp = tmp_path / "EmbeddedMongo.java.sha256"
    monkeypatch.setattr(embedded_db, "LAUNCHER_SRC", source)
    monkeypatch.setattr(embedded_db, "LAUNCHER_STAMP", stamp)
    monkeypatch.setattr(embedded_db.shutil, "which",
                        lambda name: None if name == "mongod" else "/usr/bin/java")
    assert not embedded_db.compiled_launcher_is_current()  # no stamp: never compiled here
    stamp.write_text(f"{hashlib.sha256(b'class Other {}').hexdigest()}  EmbeddedMongo.java\n")
    assert not embedded_db.compiled_launcher_is_current()
    cmd, _ = embedded_db._java_command(27999, tmp_path / "db.mv", durable=True)
    assert str(source) in cmd and "EmbeddedMongo" not in cmd  # Java runs the source itself
    assert cmd[-3:] == ["--data", str(tmp_path / "db.mv"), "--durable"]
    stamp.write_text(f"{hashlib.sha256(source.read_bytes()).hexdigest()}  EmbeddedMongo.java\n")
    assert embedded_db.compiled_launcher_is_current()
    cmd, _ = embedded_db._java_command(27999, None, durable=True)
    assert "EmbeddedMongo" in cmd and str(source) not in cmd
    assert cmd[-1] == "--memory"
