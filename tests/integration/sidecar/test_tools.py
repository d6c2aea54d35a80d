"""The agent's tool endpoints on the real database: per-call keys, store once, typed answers."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient

from core import db as dbmod
from core.config import get_settings
from core.db import CALLS, TOOL_REQUESTS, utcnow
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


def test_the_candidates_words_are_encrypted_at_rest_and_purged_with_the_transcript(
        client, db, monkeypatch) -> None:
    from cryptography.fernet import Fernet

    from core.agent.questions import question_id
    from core.review import retention_store
    from core.review.answers import call_answers
    from core.review.store import get_call

    monkeypatch.setenv("DATA_ENCRYPTION_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    call = _call(db)
    secret = call_key(get_settings().tool_secret, call.id)
    assert _post(client, call, "recordAnswer", {"question": 4, "answer_text": "I love forklifts",
                                                 "value": "x"}, key=secret).status_code == 200
    assert _post(client, call, "requestHuman", {"reason": "a wheelchair ramp"}, key=secret).status_code == 200
    stored = db[CALLS].find_one({"_id": call.id})
    raw = json.dumps(stored, default=str) + json.dumps(list(db[TOOL_REQUESTS].find()), default=str)
    assert "forklifts" not in raw and "wheelchair" not in raw
    answers = call_answers(get_call(db, call.id), [])
    assert answers[3].answer == "I love forklifts" and answers[3].source == "agent"
    assert stored["agent_answers"][question_id("Why this job?")]["number"] == 4
    # The retention purge takes the words with the transcript; the call's facts stay.
    db[CALLS].update_one({"_id": call.id}, {"$set": {"ended_at": utcnow() - timedelta(days=400)}})
    assert retention_store.purge_calls_batch(db, utcnow() - timedelta(days=30), utcnow(), 10) == 1
    purged = db[CALLS].find_one({"_id": call.id})
    assert "agent_answers" not in purged and "reason" not in purged["human_requested"]
    assert all("body" not in r for r in db[TOOL_REQUESTS].find({"call_id": call.id}))


def test_a_recruiter_lifts_a_request_for_a_person_with_a_reason(client, db) -> None:
    from core.agent.settings import get_global_config
    from core.auth import PermissionDenied
    from core.calling.refusals import refusal
    from core.db import AUDIT_LOG
    from core.people import candidates
    from core.people import store as people_store
    from core.review.candidate_view import human_requests
    from tests.factories import insert_candidate, insert_job
    from tests.support.apptest import make_user

    job = insert_job(db)
    cand = insert_candidate(db, job_ids=[job.id])
    call = _call(db, candidate_id=cand.id, job_id=job.id)
    assert _post(client, call, "requestHuman", {"reason": "needs large print"}).status_code == 200
    [request] = human_requests(db, cand.id)
    assert (request.job_id, request.reason, request.call_id) == (job.id, "needs large print", call.id)
    stored = people_store.get_candidate(db, cand.id)
    assert refusal(stored, job, get_global_config(db)).code == "asked_for_human"
    with pytest.raises(PermissionDenied):
        candidates.lift_human_request(db, make_user(db, "viewer"), cand.id, job.id, "spoke with them today")
    recruiter = make_user(db, "recruiter")
    with pytest.raises(candidates.CandidateError, match="Say why"):
        candidates.lift_human_request(db, recruiter, cand.id, job.id, "ok")
    candidates.lift_human_request(db, recruiter, cand.id, job.id, "Spoke with them; large print sent.")
    assert human_requests(db, cand.id) == []
    assert refusal(people_store.get_candidate(db, cand.id), job, get_global_config(db)) is None
    entry = db[AUDIT_LOG].find_one({"action": "candidate.human_request_lifted"})
    assert entry["actor"] == "recruiter1" and "large print sent" in entry["detail"]
    with pytest.raises(candidates.CandidateError, match="no request"):
        candidates.lift_human_request(db, recruiter, cand.id, job.id, "Spoke with them again today.")
