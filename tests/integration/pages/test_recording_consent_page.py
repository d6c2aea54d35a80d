"""The call page where the player would be: a refused or never-asked recording in plain words."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.db import CALLS, TRANSCRIPTS, utcnow
from core.review import recording_store, recordings
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts
from tests.support.review_seed import add_call, add_candidate, add_job

PAGE = page_path("transcripts")


def _page(db, call_id: str) -> AppTest:
    at = signed_in(AppTest.from_file(PAGE, default_timeout=TIMEOUT), make_user(db, "recruiter"))
    at.query_params["call"] = call_id
    return at.run()


def test_a_refused_recording_is_said_in_words_and_never_played(db) -> None:
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Ann", "+14155550101", [job])
    call_id = add_call(db, cand, job, transcript_status="not_kept", recording_consent={
        "needed": True, "mode": "ask", "asked": True, "granted": False, "transcript_allowed": False})
    db[TRANSCRIPTS].delete_one({"_id": call_id})
    db[CALLS].update_one({"_id": call_id}, {"$set": {"transcript_status": "not_kept"}})
    # Even audio already in the cache (it cannot get there, but say it did) is not played.
    now = utcnow()
    recording_store.cache_recording(db, call_id, now, content=b"RIFF....WAVEfmt ", content_type="audio/wav",
                                    expires_at=now + recordings.RECORDING_TTL)
    at = _page(db, call_id)
    assert not at.exception and not at.get("audio")
    shown = texts(at)
    assert "Recording refused by the candidate — not kept." in shown
    assert "The transcript was not kept" in shown


def test_recording_off_for_lack_of_consent_says_why(db) -> None:
    job = add_job(db, "Night cook")
    cand = add_candidate(db, "Bo", "+13055550102", [job])
    call_id = add_call(db, cand, job, recording_consent={
        "needed": True, "mode": "off", "why": "every party must agree in Florida, US (from the number)"})
    at = _page(db, call_id)
    assert not at.exception and not at.get("audio")
    assert ("Recording off: consent not asked (every party must agree in Florida, US (from the number))."
            in texts(at).replace("\u2060", ""))  # md() keeps ":" from starting a shortcode
