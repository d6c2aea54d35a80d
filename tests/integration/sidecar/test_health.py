"""Sidecar /healthz and /readyz with the database up and down."""

from pymongo import MongoClient

from sidecar.app import create_app
from tools.embedded_db.launcher import free_port


def test_healthz_and_readyz_with_database_up(db):
    client = create_app(db).test_client()
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "ok"


def test_readyz_is_503_with_a_reason_when_database_is_down():
    dead = MongoClient(
        f"mongodb://127.0.0.1:{free_port()}", serverSelectionTimeoutMS=300, connect=False
    )
    client = create_app(dead["x"]).test_client()
    assert client.get("/healthz").status_code == 200  # alive even without a database
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "unreachable" in ready.json["reason"]
