"""With encryption on: the access export shows the candidate's data decrypted, and the erasure leaves
none of their ciphertext behind (nor a do-not-call hash when they were not on the list)."""

from __future__ import annotations

import io
import json
import zipfile

from cryptography.fernet import Fernet

from core import auth, crypto
from core.config import get_settings
from core.db import CALLS, utcnow
from core.lifecycle import store as lifecycle_store
from core.people import candidates, jobs
from core.privacy import access_export, erasure


def test_export_decrypts_and_erasure_leaves_no_ciphertext(db, monkeypatch) -> None:
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("LOOKUP_HASH_KEY", "lookup-" + "k" * 40)
    get_settings.cache_clear()
    admin = auth.create_user(db, "boss", "a-long-password-1", "admin", actor=auth.OPERATOR)
    job = jobs.create_job(db, admin, title="Picker", company="Acme")
    cand = candidates.add_candidate(db, admin, name="Ned Cipher", phone="+14155550107",
                                    email="ned@example.org", notes="prefers mornings", job_ids=[job.id])
    now = utcnow()
    db[CALLS].insert_one({"_id": "call-e", "candidate_id": cand.id, "job_id": job.id, "status": "completed",
                          "created_at": now, "ended_at": now})
    lifecycle_store.store_transcript(db, "call-e", [{"role": "user", "text": "I drove forklifts in Leeds."}])
    stored = db["candidates"].find_one({"_id": cand.id})
    assert crypto.is_encrypted(stored["name"]) and "Ned" not in str(stored)

    made = access_export.export_candidate(db, admin, cand.id)
    with zipfile.ZipFile(io.BytesIO(made.content)) as archive:
        data = json.loads(archive.read(access_export.JSON_NAME))
    assert (data["candidate"]["name"], data["candidate"]["email"]) == ("Ned Cipher", "ned@example.org")
    assert data["candidate"]["notes"] == "prefers mornings"
    assert data["calls"][0]["transcript"][0]["text"] == "I drove forklifts in Leeds."

    words = db["call_transcripts"].find_one({"_id": "call-e"})["messages"][0]["text"]
    secrets = [stored["name"], stored["phone"], stored["email"], stored["notes"], stored["phone_hash"],
               *stored["name_tokens"], words]
    erasure.erase_candidate(db, admin, cand.id, reason="Written request 2026-11", confirmed=True)
    dump = " ".join(str(d) for name in db.list_collection_names() for d in db[name].find())
    assert not [s for s in secrets if s in dump]
    assert db["do_not_call_numbers"].count_documents({}) == 0  # they never asked not to be called
    assert candidates.add_candidate(db, admin, name="Ned Again", phone="+14155550107").name == "Ned Again"
