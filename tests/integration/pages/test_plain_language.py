"""Every page speaks a recruiter's language: no internal id, raw JSON, stored code, Python
literal or microsecond timestamp in its visible text, tables and choices included, with calls
in every state on file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from core.db import utcnow
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, visible_strings
from tests.support.review_seed import add_call, add_candidate, add_job
from tests.support.usage_data import D1, D3, seed_dataset
from tests.support.visible_text import engineer_speak


@pytest.fixture
def on_file(db):
    """A job with candidates whose calls ended every way, one still ringing and one queued."""
    admin = make_user(db, "admin", "boss")
    job = add_job(db, "Forklift operator")
    ended = {"completed": {"end_reason": "agent_hangup", "decision": "advance", "events": True,
                           "telephony_price": "-0.0280", "price_unit": "USD"},
             "voicemail": {"answered_by": "machine_end_beep"}, "no_answer": {}, "busy": {},
             "failed": {"failure_reason": "The number is not reachable."}, "unknown": {},
             "ringing": {"duration": None}, "queued": {"duration": None}}
    calls = {}
    for n, (status, fields) in enumerate(ended.items()):
        cand = add_candidate(db, f"Candidate {status.title()}", f"+1 212 555 01{40 + n}", [job])
        calls[status] = add_call(db, cand, job, status=status, created_at=utcnow() - timedelta(hours=n + 1),
                                 **fields)
    return {"admin": admin, "job": job, "calls": calls}


def _run(stem: str, user, **query) -> AppTest:
    at = signed_in(AppTest.from_file(page_path(stem), default_timeout=TIMEOUT), user)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


@pytest.mark.parametrize("stem", ["home", "usage", "users", "voices", "launch_calls", "account",
                                  "jobs_candidates", "transcripts", "pipeline", "global_settings",
                                  "job_settings"])
def test_the_page_shows_no_engineer_speak(db, on_file, stem) -> None:
    at = _run(stem, on_file["admin"])
    assert not at.exception, at.exception
    strings = visible_strings(at)
    assert strings
    found = [(f.kind, f.text, s[:120]) for s in strings for f in engineer_speak(s)]
    assert found == [], "\n".join(map(str, found))


def test_the_candidate_page_shows_no_engineer_speak(db, on_file) -> None:
    candidate = next(iter(db["candidates"].find({}, {"_id": 1})))["_id"]
    at = _run("jobs_candidates", on_file["admin"], candidate=candidate)
    assert not at.exception, at.exception
    found = [(f.kind, f.text, s[:120]) for s in visible_strings(at) for f in engineer_speak(s)]
    assert found == [], "\n".join(map(str, found))


def test_the_usage_page_with_spending_on_file_shows_no_engineer_speak(db) -> None:
    seed_dataset(db, duplicate=False)
    boss = make_user(db, "admin", "boss")
    at = signed_in(AppTest.from_file(page_path("usage"), default_timeout=TIMEOUT), boss)
    at.session_state["usage.range"] = (D1, D3)
    at.run()
    assert not at.exception, at.exception
    strings = visible_strings(at)
    assert any("Backend engineer" in s for s in strings)  # the data is on the page
    found = [(f.kind, f.text, s[:120]) for s in strings for f in engineer_speak(s)]
    assert found == [], "\n".join(map(str, found))


@pytest.mark.parametrize("status", ["completed", "voicemail", "failed", "queued", "ringing"])
def test_the_call_page_shows_no_engineer_speak(db, on_file, status) -> None:
    at = _run("transcripts", on_file["admin"], call=on_file["calls"][status])
    assert not at.exception, at.exception
    strings = visible_strings(at, exempt_columns=("What", "Value"))
    found = [(f.kind, f.text, s[:120]) for s in strings for f in engineer_speak(s)]
    assert found == [], "\n".join(map(str, found))
    # The ids live in the admins' "Technical details" only, and no other role sees that.
    assert "Technical details (for operators)" in [e.label for e in at.expander]
    technical = next(t.value for t in at.dataframe if tuple(t.value.columns) == ("What", "Value"))
    assert on_file["calls"][status] in technical["Value"].tolist()
    recruiter = _run("transcripts", make_user(db, "recruiter", "rita"), call=on_file["calls"][status])
    assert "Technical details (for operators)" not in [e.label for e in recruiter.expander]
    assert not any(f for s in visible_strings(recruiter) for f in engineer_speak(s))
