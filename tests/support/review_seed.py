"""Seeding for the call-review tests: jobs and candidates through the real modules, screened
calls (built by the factories) with their transcripts and provider events written directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core import auth
from core.db import CALL_EVENTS, CALLS, TRANSCRIPTS, new_id
from core.documents.call import Call
from core.documents.event import Event
from core.people import candidates, jobs
from tests import factories

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


def screened_call(
    candidate_id: str,
    job_id: str,
    *,
    status: str = "completed",
    created_at: datetime = T0,
    duration: int | None = 120,
    decision: str | None = None,
    cost: str | None = None,
    summary: str = "Answered every question.",
    **extra: Any,
) -> Call:
    """A call as the launcher and the sidecar leave it (not stored)."""
    call_id = extra.pop("id", None) or new_id()
    fields: dict[str, Any] = {
        "id": call_id,
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
        fields["answered_at"] = created_at + timedelta(seconds=5)
        fields["ended_at"] = created_at + timedelta(seconds=5 + (duration or 0))
        fields["transcript_status"] = "stored"
    if decision:
        fields["review"] = {
            "decision": decision,
            "ratings": {"1": 4},
            "overall": 4,
            "notes": "seeded note",
            "by": "seeder",
            "at": created_at,
        }
    if cost is not None:
        fields["costs"] = {
            "currency": "USD",
            "total": cost,
            "total_micros": int(float(cost) * 1_000_000),
            "ai_estimated": False,
            "telephony_estimated": False,
        }
    return factories.call(**fields)


def provider_events(call: Call) -> list[Event]:
    """The stored webhooks of a screened call, applied: Twilio's progress, Ultravox's join and bill."""
    duration = call.duration_seconds
    kinds = [
        ("twilio", "initiated", 1),
        ("twilio", "ringing", 2),
        ("ultravox", "call.joined", 5),
        ("twilio", "completed", 5 + (duration or 0)),
        ("ultravox", "call.billed", 200),
    ]
    out = []
    for seq, (provider, kind, offset) in enumerate(kinds):
        payload: dict[str, Any] = (
            {"CallSid": call.twilio_call_sid, "CallStatus": kind}
            if provider == "twilio"
            else {"event": kind, "call": {"callId": call.ultravox_call_id, "billedDuration": "120s"}}
        )
        out.append(
            factories.event(
                # The keys the webhook parsers make (core.lifecycle.events): Twilio's sequence
                # number, Ultravox's event name.
                dedupe_key=(f"tw:{call.twilio_call_sid}:{seq}" if provider == "twilio"
                            else f"uv:{call.ultravox_call_id}:{kind}"),
                provider=provider,
                kind=kind,
                call_id=call.id,
                provider_call_id=call.twilio_call_sid if provider == "twilio" else call.ultravox_call_id,
                payload=payload,
                occurred_at=None,
                received_at=call.created_at + timedelta(seconds=offset),
                source="webhook",
                applied=True,
            )
        )
    return out


def add_call(
    db,
    candidate_id: str,
    job_id: str,
    *,
    messages: list[dict] | None = None,
    events: bool = False,
    **fields: Any,
) -> str:
    """A screened call stored with its transcript (once completed) and, if asked, its events;
    returns its id. `fields` are those of `screened_call`."""
    call = screened_call(candidate_id, job_id, **fields)
    db[CALLS].insert_one(factories.call_doc(call))
    if call.status == "completed":
        db[TRANSCRIPTS].insert_one(
            {"_id": call.id, "messages": messages or conversation(), "fetched_at": call.created_at}
        )
    if events:
        db[CALL_EVENTS].insert_many([e.to_doc() for e in provider_events(call)])
    return call.id
