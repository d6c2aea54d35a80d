"""Names, notes, transcripts and summaries encrypted at rest; rotation with several keys; the
`reencrypt` command (bounded, resumable, counted) that also migrates old lookup hashes."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from cryptography.fernet import Fernet

from core import auth, crypto, manage
from core.config import get_settings
from core.db import CALL_EVENTS, CALLS, CANDIDATES, TOOL_REQUESTS, TRANSCRIPTS, new_id, utcnow
from core.lifecycle import store as lifecycle_store
from core.people import candidates, jobs
from core.people import store as people_store
from core.review import detail as review_detail

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
_CONVERSATION = [{"role": "agent", "text": "Hi Ann, is now a good time?", "start_s": 0.0},
                 {"role": "user", "text": "Yes, I have five years of forklift work.", "start_s": 3.0}]


@pytest.fixture
def keys(db, monkeypatch):
    """Switch DATA_ENCRYPTION_KEY / DATA_ENCRYPTION_OLD_KEYS for this process."""

    def use(current: str | None, *old: str) -> None:
        monkeypatch.setenv("LOOKUP_HASH_KEY", "lookup-" + "k" * 40)
        for name, value in (("DATA_ENCRYPTION_KEY", current), ("DATA_ENCRYPTION_OLD_KEYS", ",".join(old))):
            if value:
                monkeypatch.setenv(name, value)
            else:
                monkeypatch.delenv(name, raising=False)
        get_settings.cache_clear()

    return use


def _call(db, candidate_id: str, job_id: str) -> str:
    """A completed call whose summary, transcript and webhook go through lifecycle's store."""
    call_id = new_id()
    now = utcnow()
    db[CALLS].insert_one({"_id": call_id, "candidate_id": candidate_id, "job_id": job_id,
                          "status": "completed", "created_at": now, "ended_at": now})
    lifecycle_store.record_agent_end(db, call_id, fields={"summary": "Ann has five years of forklift work.",
                                                          "short_summary": "Experienced."}, ended_at=now)
    lifecycle_store.store_transcript(db, call_id, _CONVERSATION)
    lifecycle_store.insert_event(db, {"_id": new_id(), "dedupe_key": f"uv:{call_id}:call.ended",
                                      "provider": "ultravox", "kind": "call.ended", "call_id": call_id,
                                      "payload": {"event": "call.ended", "call": {
                                          "summary": "Ann has five years of forklift work.",
                                          "shortSummary": "Experienced.", "endReason": "hangup"}},
                                      "received_at": now})
    return call_id


def test_personal_text_is_encrypted_at_rest_and_reads_back(db, keys) -> None:
    keys(KEY_A)
    admin = auth.create_user(db, "boss", "a-long-password-1", "admin", actor=auth.OPERATOR)
    job = jobs.create_job(db, admin, title="Forklift driver", company="Acme")
    ann = candidates.add_candidate(db, admin, name="Ann Archer", phone="+1 415 555 0100",
                                   email="ann@example.com", notes="met at the fair", job_ids=[job.id])
    call_id = _call(db, ann.id, job.id)
    raw = db[CANDIDATES].find_one({"_id": ann.id})
    assert "Ann" not in json.dumps(raw, default=str) and "fair" not in json.dumps(raw, default=str)
    prefix = f"enc:v2:{crypto.key_id(KEY_A)}:"
    assert all(raw[f].startswith(prefix) for f in ("name", "notes", "phone", "email"))
    assert "name_lower" not in raw
    for collection, key in ((CALLS, "_id"), (TRANSCRIPTS, "_id"), (CALL_EVENTS, "call_id")):
        stored = json.dumps(db[collection].find_one({key: call_id}), default=str)
        assert "forklift" not in stored and "Experienced" not in stored, collection
    # Everything reads back in clear through the services.
    assert [c.name for c in candidates.list_candidates(db, admin, search="arch")] == ["Ann Archer"]
    assert candidates.list_candidates(db, admin, search="ar") == []  # 3 letters at least
    shown = review_detail.call_detail(db, call_id, admin)
    assert shown.candidate.name == "Ann Archer" and shown.summary.startswith("Ann has five years")
    assert [m.text for m in shown.transcript] == [m["text"] for m in _CONVERSATION]


def _legacy_candidate(db, job_id: str, key: str) -> str:
    """A candidate as the code before rotation support wrote it: enc:v1 phone, the phone hash
    derived from the encryption key, the name and its lower-case copy in clear."""
    mac = hashlib.sha256(b"phone-hash:" + key.encode()).digest()
    doc = {"_id": "legacy-leo", "name": "Leo Legacy", "name_lower": "leo legacy",
           "phone": "enc:v1:" + Fernet(key.encode()).encrypt(b"+14155550199").decode(),
           "phone_hash": hmac.new(mac, b"+14155550199", hashlib.sha256).hexdigest(), "phone_last4": "0199",
           "email": "", "notes": "legacy notes", "job_ids": [job_id], "consent": True, "created_at": utcnow()}
    db[CANDIDATES].insert_one(doc)
    return doc["_id"]


def _reencrypt(capsys, *args: str) -> tuple[int, dict]:
    code = manage.main(["--json", "reencrypt", *args])
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


def test_rotation_then_reencrypt_moves_everything_to_the_new_key_and_migrates_hashes(
        db, keys, capsys) -> None:
    keys(KEY_A)
    admin = auth.create_user(db, "boss", "a-long-password-1", "admin", actor=auth.OPERATOR)
    job = jobs.create_job(db, admin, title="Forklift driver", company="Acme")
    ann = candidates.add_candidate(db, admin, name="Ann Archer", phone="+1 415 555 0100",
                                   notes="met at the fair", job_ids=[job.id])
    leo = _legacy_candidate(db, job.id, KEY_A)
    call_id = _call(db, ann.id, job.id)

    keys(KEY_B, KEY_A)  # rotated: B encrypts, A still reads
    # Before re-encryption, old hashes and old ciphertext keep working.
    assert candidates.find_by_phone(db, "415 555 0199").name == "Leo Legacy"
    with pytest.raises(candidates.CandidateError, match="already belongs to candidate Leo Legacy"):
        candidates.add_candidate(db, admin, name="Leo Twin", phone="+14155550199", job_ids=[job.id])
    assert {c.name for c in candidates.list_candidates(db, admin, search="leo")} == {"Leo Legacy"}

    code, first = _reencrypt(capsys, "--batch", "1", "--max-batches", "1")
    assert code == 0 and first["batches"] == 1 and first["complete"] is False
    assert first["candidates"] == 1 and first["calls"] == 1 and first["events"] == 1
    code, rest = _reencrypt(capsys, "--batch", "1")
    assert code == 0 and rest["complete"] is True and rest["candidates"] == 1 and rest["failed"] == {}
    code, again = _reencrypt(capsys)
    assert again["candidates"] == again["calls"] == again["events"] == again["transcripts"] == 0

    keys(KEY_B)  # the old key removed: everything still reads, nothing carries key A
    prefix = f"enc:v2:{crypto.key_id(KEY_B)}:"
    for doc in db[CANDIDATES].find():
        assert all(doc[f].startswith(prefix) for f in ("name", "phone", "notes")), doc["_id"]
        assert "name_lower" not in doc and doc["lookup_kid"] == crypto.lookup_key_id()
    assert db[CANDIDATES].find_one({"_id": leo})["phone_hash"] == crypto.phone_hash("+14155550199")
    assert db[CALLS].find_one({"_id": call_id})["summary"].startswith(prefix)
    assert all(m["text"].startswith(prefix) for m in db[TRANSCRIPTS].find_one({"_id": call_id})["messages"])
    assert db[CALL_EVENTS].find_one({"call_id": call_id})["payload"]["call"]["summary"].startswith(prefix)
    assert {c.name for c in candidates.list_candidates(db, admin, search="leo leg")} == {"Leo Legacy"}
    assert candidates.find_by_phone(db, "+1 415 555 0199").notes == "legacy notes"
    shown = review_detail.call_detail(db, call_id, admin)
    assert shown.summary.startswith("Ann has five years") and shown.transcript[1].text.startswith("Yes")


def test_reencrypt_names_what_no_configured_key_opens(db, keys, capsys) -> None:
    keys(KEY_A)
    admin = auth.create_user(db, "boss", "a-long-password-1", "admin", actor=auth.OPERATOR)
    job = jobs.create_job(db, admin, title="Forklift driver", company="Acme")
    lost = candidates.add_candidate(db, admin, name="Lost Key", phone="+14155550111", job_ids=[job.id])
    keys(KEY_B)  # A is gone without having been kept in DATA_ENCRYPTION_OLD_KEYS
    candidates.add_candidate(db, admin, name="Fine Person", phone="+14155550112", job_ids=[job.id])
    code, out = _reencrypt(capsys)
    assert code == 1 and "DATA_ENCRYPTION_OLD_KEYS" in out["error"] and lost.id in out["error"]


def _tool_records(db, call_id: str, candidate_id: str, job_id: str) -> str:
    """What the agent's tools leave under the current key, as core.screening stores it: an answer
    corrected once, a request for a person (call and candidate), a voicemail text, a request body."""
    from core.documents.call import AgentAnswer
    from core.screening import store as screening_store

    first = AgentAnswer(number=1, answer=crypto.encrypt("three years"), value=3, at=utcnow())
    assert screening_store.record_answer(db, call_id, "years", first, None)
    stored = AgentAnswer.model_validate(db[CALLS].find_one({"_id": call_id})["agent_answers"]["years"])
    fixed = AgentAnswer(number=1, answer=crypto.encrypt("four years, sorry"), value=4, at=utcnow())
    assert screening_store.record_answer(db, call_id, "years", fixed, stored)
    reason = crypto.encrypt("hard of hearing, please email")
    screening_store.set_human_requested(db, call_id, reason, utcnow())
    assert people_store.mark_human_requested(db, candidate_id, job_id, call_id=call_id, reason=reason)
    left = screening_store.voicemail_facts(crypto.encrypt("Please call us back, Ann."))
    db[CALLS].update_one({"_id": call_id}, {"$set": left})
    request_id = new_id()
    assert screening_store.insert_request(db, {"_id": request_id, "call_id": call_id, "tool": "recordAnswer",
                                               "received_at": utcnow(),
                                               "body": crypto.encrypt('{"answer_text": "four years"}')})
    return request_id


def test_reencrypt_moves_what_the_agent_tools_recorded_to_the_new_key(db, keys, capsys) -> None:
    keys(KEY_A)
    admin = auth.create_user(db, "boss", "a-long-password-1", "admin", actor=auth.OPERATOR)
    job = jobs.create_job(db, admin, title="Forklift driver", company="Acme")
    ann = candidates.add_candidate(db, admin, name="Ann Archer", phone="+1 415 555 0100", job_ids=[job.id])
    call_id = _call(db, ann.id, job.id)
    request_id = _tool_records(db, call_id, ann.id, job.id)

    keys(KEY_B, KEY_A)
    code, out = _reencrypt(capsys, "--batch", "1")
    assert code == 0 and out["complete"] is True and out["failed"] == {}
    assert out["answers"] == 1 and out["tool_requests"] == 1

    keys(KEY_B)  # the old key removed: nothing the tools recorded still needs key A
    prefix = f"enc:v2:{crypto.key_id(KEY_B)}:"
    call = db[CALLS].find_one({"_id": call_id})
    answer = call["agent_answers"]["years"]
    assert answer["answer"].startswith(prefix) and answer["earlier"][0]["answer"].startswith(prefix)
    assert crypto.decrypt(answer["answer"]) == "four years, sorry"
    assert crypto.decrypt(answer["earlier"][0]["answer"]) == "three years" and answer["seq"] == 2
    assert crypto.decrypt(call["human_requested"]["reason"]) == "hard of hearing, please email"
    assert crypto.decrypt(call["voicemail_text"]) == "Please call us back, Ann."
    cand_reason = db[CANDIDATES].find_one({"_id": ann.id})["human_requested"][job.id]["reason"]
    assert crypto.decrypt(cand_reason) == "hard of hearing, please email"
    body = db[TOOL_REQUESTS].find_one({"_id": request_id})["body"]
    assert crypto.decrypt(body).startswith('{"answer_text"')
    code, again = _reencrypt(capsys)
    assert code == 0 and again["answers"] == again["tool_requests"] == again["candidates"] == 0


def test_reencrypt_names_tool_records_no_configured_key_opens(db, keys, capsys) -> None:
    keys(KEY_A)
    admin = auth.create_user(db, "boss", "a-long-password-1", "admin", actor=auth.OPERATOR)
    job = jobs.create_job(db, admin, title="Forklift driver", company="Acme")
    ann = candidates.add_candidate(db, admin, name="Ann Archer", phone="+1 415 555 0100", job_ids=[job.id])
    call_id = new_id()
    db[CALLS].insert_one({"_id": call_id, "candidate_id": ann.id, "job_id": job.id, "status": "completed",
                          "created_at": utcnow()})
    request_id = _tool_records(db, call_id, ann.id, job.id)
    keys(KEY_B)  # A lost: the candidate's own fields, the call's tool records and the body are unreadable
    code, out = _reencrypt(capsys)
    assert code == 1 and "DATA_ENCRYPTION_OLD_KEYS" in out["error"]
    assert call_id in out["error"] and request_id in out["error"] and ann.id in out["error"]
