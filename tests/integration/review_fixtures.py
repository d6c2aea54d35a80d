"""Seeding helpers for the call-review tests: jobs, candidates and calls written directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core import auth
from core.db import CALL_EVENTS, CALLS, TRANSCRIPTS, new_id
from core.people import candidates, jobs

QUESTIONS = [
    {"text": "How many years of forklift experience do you have?", "guidance": "3+ years"},
    {"text": "When could you start the new position?", "guidance": ""},
    {"text": "Are you able to work weekend shifts?", "guidance": ""},
]
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def admin(db) -> auth.User:
    """The seeding admin (created once per database)."""
    return auth.get_user(db, "seeder") or auth.create_user(
        db, "seeder", "a-long-password-1", "admin", actor=auth.OPERATOR)


def add_job(db, title: str) -> str:
    """An open job; returns its id."""
    return jobs.create_job(db, admin(db), title=title, company="Acme").id


def add_candidate(db, name: str, phone: str, job_ids: list[str]) -> str:
    """A candidate through the real module (encrypted phone, phone_hash, name_lower)."""
    return candidates.add_candidate(db, admin(db), name=name, phone=phone, consent=True,
                                    job_ids=job_ids).id


def conversation(answers: list[str] | None = None) -> list[dict[str, Any]]:
    """A transcript asking QUESTIONS in the agent's own words, with the given answers."""
    answers = answers or ["About five years in a warehouse.", "In two weeks.", "Yes, weekends are fine."]
    lines = [
        ("agent", "Hi, this is Alex calling about your application. Do you have a few minutes?"),
        ("user", "Sure."),
    ]
    asked = [
        "First, how many years of forklift experience do you have?",
        "Thanks. When could you start the new position?",
        "And are you able to work weekend shifts?",
    ]
    for question, answer in zip(asked, answers, strict=False):
        lines += [("agent", question), ("user", answer)]
    lines.append(("agent", "Thank you, goodbye!"))
    out, t = [], 0.0
    for role, text in lines:
        out.append({"role": role, "text": text, "medium": "voice", "start_s": t, "end_s": t + 3})
        t += 4
    return out


def add_call(
    db,
    candidate_id: str,
    job_id: str,
    *,
    status: str = "completed",
    created_at: datetime = T0,
    duration: int | None = 120,
    decision: str | None = None,
    cost: str | None = None,
    messages: list[dict] | None = None,
    summary: str = "Answered every question.",
    events: bool = False,
    **extra: Any,
) -> str:
    """A call document as the launcher and the sidecar leave it; returns its id."""
    call_id = new_id()
    doc: dict[str, Any] = {
        "_id": call_id,
        "candidate_id": candidate_id,
        "job_id": job_id,
        "attempt": 1,
        "status": status,
        "created_at": created_at,
        "updated_at": created_at,
        "dialed_at": created_at + timedelta(seconds=1),
        "ultravox_call_id": f"uv-{call_id[:8]}",
        "twilio_call_sid": f"CA{call_id}",
        "duration_seconds": duration,
        "summary": summary,
        "short_summary": "Screened.",
        "config_snapshot": {
            "config": {
                "voice": "Mark",
                "model": "ultravox-v0.7",
                "language_hint": "en-US",
                "recording_enabled": True,
                "screening_questions": QUESTIONS,
            },
            "global_version": 3,
        },
        "rendered_prompt": "You are Alex, a screening agent.",
        "calling_window": {
            "zone": "America/New_York",
            "local_time": "10:00",
            "allowed": True,
            "reason": "inside calling hours",
        },
        **extra,
    }
    if status in ("completed",):
        doc["answered_at"] = created_at + timedelta(seconds=5)
        doc["ended_at"] = created_at + timedelta(seconds=5 + (duration or 0))
        doc["transcript_status"] = "stored"
    if decision:
        doc["review"] = {
            "decision": decision,
            "ratings": {"1": 4},
            "overall": 4,
            "notes": "seeded note",
            "by": "seeder",
            "at": created_at,
        }
    if cost is not None:
        doc["costs"] = {
            "currency": "USD",
            "total": cost,
            "total_micros": int(float(cost) * 1_000_000),
            "ai_estimated": False,
            "telephony_estimated": False,
        }
    db[CALLS].insert_one(doc)
    if status == "completed":
        db[TRANSCRIPTS].insert_one(
            {"_id": call_id, "messages": messages or conversation(), "fetched_at": created_at}
        )
    if events:
        kinds = [
            ("twilio", "initiated", 1),
            ("twilio", "ringing", 2),
            ("ultravox", "call.joined", 5),
            ("twilio", "completed", 5 + (duration or 0)),
            ("ultravox", "call.billed", 200),
        ]
        for provider, kind, offset in kinds:
            payload: dict[str, Any] = (
                {"CallSid": doc["twilio_call_sid"], "CallStatus": kind}
                if provider == "twilio"
                else {"event": kind, "call": {"callId": doc["ultravox_call_id"], "billedDuration": "120s"}}
            )
            db[CALL_EVENTS].insert_one(
                {
                    "_id": new_id(),
                    "dedupe_key": f"{provider}:{call_id}:{kind}",
                    "provider": provider,
                    "kind": kind,
                    "call_id": call_id,
                    "provider_call_id": "x",
                    "payload": payload,
                    "occurred_at": None,
                    "received_at": created_at + timedelta(seconds=offset),
                    "source": "webhook",
                    "applied": True,
                }
            )
    return call_id
