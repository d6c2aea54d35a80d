"""The agent's tool endpoints on the real database: per-call keys, store once, typed answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pymongo import MongoClient

from core import db as dbmod
from core.config import get_settings
from core.db import CALLS, TOOL_REQUESTS
from core.screening.tools import TOOL_HEADER, call_key
from sidecar.app import create_app
from tests.factories import insert_launched_call
from tools.embedded_db import launcher as embedded_db

QUESTIONS = [
    {"text": "Are you authorised to work here?", "type": "yes_no", "knockout": {"must_be": True}},
    {"text": "How many years of forklift experience?", "type": "number", "min_value": 0, "max_value": 50},
    {"text": "Which shift?", "type": "choice", "options": ["days", "nights"]},
    {"text": "Why this job?"},
]


@pytest.fixture
def client(db):
    return create_app(db, followup_in_background=False).test_client()


def _call(db, **fields):
    fields.setdefault("status", "in_progress")
    return insert_launched_call(db, config_snapshot={"config": {"screening_questions": QUESTIONS}}, **fields)


def _post(client, call, tool: str, args: dict, *, key: str | None = None, uv: str | None = None,
          content_type: str = "application/json", raw: bytes | None = None):
    body = {**args, "screeningId": call.id, "ultravoxCallId": uv or call.ultravox_call_id}
    key = call_key(get_settings().tool_secret, call.id) if key is None else key
    return client.post(f"/tools/{tool}", data=raw if raw is not None else json.dumps(body),
                       headers={TOOL_HEADER: key, "Content-Type": content_type})


def test_answers_are_typed_stored_once_and_corrections_keep_history(client, db) -> None:
    call = _call(db)
    ok = _post(client, call, "recordAnswer", {"question": 1, "answer_text": "Yes I am", "value": "yes"})
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "Noted."
    assert ok.headers["X-Ultravox-Agent-Reaction"] == "speaks-once"
    # The same request again (Ultravox re-issued it): stored once, same answer.
    again = _post(client, call, "recordAnswer", {"question": 1, "answer_text": "Yes I am", "value": "yes"})
    assert again.status_code == 200 and db[TOOL_REQUESTS].count_documents({"call_id": call.id}) == 1
    # JSON whatever the content type.
    years = _post(client, call, "recordAnswer", {"question": 2, "answer_text": "Three years", "value": "3"},
                  content_type="text/plain")
    assert years.status_code == 200
    fixed = _post(client, call, "recordAnswer", {"question": 1, "answer_text": "Actually no", "value": "No"})
    assert fixed.get_data(as_text=True) == "Noted (corrected)."
    answers = db[CALLS].find_one({"_id": call.id})["agent_answers"]
    q1 = answers[next(iter(answers))] if len(answers) == 1 else None
    by_number = {a["number"]: a for a in answers.values()}
    assert q1 is None and by_number[1]["value"] is False and by_number[1]["answer"] == "Actually no"
    assert [e["answer"] for e in by_number[1]["earlier"]] == ["Yes I am"] and by_number[1]["seq"] == 2
    assert by_number[2]["value"] == 3.0
    assert db[TOOL_REQUESTS].count_documents({"call_id": call.id}) == 3


@pytest.mark.parametrize(("args", "says"), [
    ({"question": 2, "answer_text": "many", "value": "lots"}, "must be a number"),
    ({"question": 2, "answer_text": "x", "value": "99"}, "between 0 and 50"),
    ({"question": 3, "answer_text": "evenings", "value": "evenings"}, "one of: days, nights"),
    ({"question": 9, "answer_text": "x", "value": "x"}, "from 1 to 4"),
])
def test_a_value_that_does_not_fit_gets_a_corrective_text_and_stores_nothing(client, db, args, says) -> None:
    call = _call(db)
    reply = _post(client, call, "recordAnswer", args)
    assert reply.status_code == 200 and says in reply.get_data(as_text=True)
    assert db[TOOL_REQUESTS].count_documents({}) == 0
    assert not db[CALLS].find_one({"_id": call.id}).get("agent_answers")


def test_bad_keys_are_refused_and_change_nothing(client, db) -> None:
    call, other = _call(db), _call(db)
    args = {"question": 1, "answer_text": "Yes", "value": "yes"}
    assert _post(client, call, "recordAnswer", args, key="").status_code == 401
    assert _post(client, call, "recordAnswer", args, key="x" * 64).status_code == 401
    other_key = call_key(get_settings().tool_secret, other.id)
    assert _post(client, call, "recordAnswer", args, key=other_key).status_code == 401
    # The right key but another agent's Ultravox call id.
    assert _post(client, call, "recordAnswer", args, uv="uv-someone-else").status_code == 401
    assert db[TOOL_REQUESTS].count_documents({}) == 0
    assert not db[CALLS].find_one({"_id": call.id}).get("agent_answers")


def test_malformed_requests_get_400(client, db) -> None:
    call = _call(db)
    assert _post(client, call, "recordAnswer", {}, raw=b"not json").status_code == 400
    assert _post(client, call, "recordAnswer", {}, raw=b"[1, 2]").status_code == 400
    assert _post(client, call, "recordAnswer", {"question": "one", "answer_text": "a"}).status_code == 400
    assert _post(client, call, "recordAnswer", {"question": 1, "answer_text": {"x": 1}}).status_code == 400
    no_call = client.post("/tools/recordAnswer", data=json.dumps({"question": 1}),
                          headers={TOOL_HEADER: "k"})
    assert no_call.status_code == 400
    assert _post(client, call, "noSuchTool", {}).status_code == 404
    assert db[TOOL_REQUESTS].count_documents({}) == 0


def test_unknown_and_ended_calls_are_recorded_and_ignored(client, db) -> None:
    ended = _call(db, status="completed")
    reply = _post(client, ended, "requestHuman", {"reason": "a person"})
    assert reply.status_code == 200
    stored = db[TOOL_REQUESTS].find_one({"call_id": ended.id})
    assert stored["outcome"].startswith("ignored: call already ended")
    assert db[CALLS].find_one({"_id": ended.id}).get("human_requested") is None
    ghost = insert_launched_call(db)
    db[CALLS].delete_one({"_id": ghost.id})
    assert _post(client, ghost, "candidateOptOut", {"reason": "stop"}).status_code == 200
    assert db[TOOL_REQUESTS].find_one({"call_id": ghost.id})["outcome"] == "ignored: unknown call"


def test_human_and_callback_requests_are_applied(client, db) -> None:
    call = _call(db)
    human = _post(client, call, "requestHuman", {"reason": "needs an accommodation"})
    assert human.status_code == 200 and "hiring team" in human.get_data(as_text=True)
    assert db[CALLS].find_one({"_id": call.id})["human_requested"]["reason"] == "needs an accommodation"
    past = _post(client, call, "requestCallback", {"when": "2001-01-01T15:00"})
    assert "passed" in past.get_data(as_text=True)
    soon = _post(client, call, "requestCallback", {"when": "2099-01-01T15:00"})
    assert soon.status_code == 200
    callback = db[CALLS].find_one({"_id": call.id})["callback"]
    assert callback["flagged"] is True and callback["when_local"] == "2099-01-01T15:00"


def test_the_database_down_answers_503(tmp_path: Path, test_env) -> None:
    port = embedded_db.free_port()
    server = embedded_db.start(port, tmp_path / "h2" / "tools.mv", timeout=60)
    mongo = MongoClient(server.uri, tz_aware=True, serverSelectionTimeoutMS=800,
                        connectTimeoutMS=800, socketTimeoutMS=3000)
    try:
        database = mongo["tools_outage"]
        dbmod.ensure_indexes(database)
        call = _call(database)
        client = create_app(database, followup_in_background=False).test_client()
        server.stop()
        down = _post(client, call, "recordAnswer", {"question": 1, "answer_text": "Yes", "value": "yes"})
        assert down.status_code == 503
    finally:
        mongo.close()
        server.stop()
