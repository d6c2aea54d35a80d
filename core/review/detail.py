"""One call's detail: timeline, transcript, answers, review, costs."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from core import crypto
from core.auth import Action, User, can
from core.calling.outcome import outcome_text
from core.db import CALL_EVENTS, CALLS, CANDIDATES, JOBS, TRANSCRIPTS
from core.review.answer_matching import _questions, question_answers
from core.review.filters import _OPEN, _aware, _started, call_cost, valid_call_id

_EVENT_LIMIT = 200  # a call has a dozen events; the cap guards the detail page
_MAX_MESSAGES = 5000  # shown per transcript (a 60-minute call has a few hundred turns)


# -- the detail -----------------------------------------------------------------------------

_TWILIO_STEPS = {
    "initiated": "dialled",
    "queued": "dialled",
    "ringing": "ringing",
    "in-progress": "answered",
    "answered": "answered",
    "completed": "ended",
    "busy": "ended",
    "no-answer": "ended",
    "failed": "ended",
    "canceled": "ended",
}
_ULTRAVOX_STEPS = {
    "call.started": "agent ready",
    "call.joined": "answered",
    "call.ended": "ended",
    "call.billed": "billed",
}
TIMELINE_STEPS: tuple[str, ...] = ("queued", "dialled", "ringing", "answered", "ended", "billed", "priced")
_DOC_TIMES = {
    "queued": "created_at",
    "dialled": "dialed_at",
    "ringing": "ringing_at",
    "answered": "answered_at",
    "ended": "ended_at",
    "billed": "billed_at",
    "priced": "priced_at",
}


def _event_view(doc: dict[str, Any]) -> dict[str, Any]:
    payload = doc.get("payload") or {}
    if doc.get("provider") == "twilio":
        step = _TWILIO_STEPS.get(doc.get("kind", ""), doc.get("kind", ""))
        detail = f"Twilio: {doc.get('kind')}"
        if payload.get("AnsweredBy"):
            detail += f" (answered by {payload['AnsweredBy']})"
        if payload.get("CallDuration"):
            detail += f", {payload['CallDuration']} s"
    else:
        call = payload.get("call") or {}
        step = _ULTRAVOX_STEPS.get(doc.get("kind", ""), doc.get("kind", ""))
        detail = f"Ultravox: {doc.get('kind')}"
        if call.get("endReason"):
            detail += f" ({call['endReason']})"
        if call.get("billedDuration"):
            detail += f", billed {call['billedDuration']}"
    return {
        "step": step,
        "at": _aware(doc.get("occurred_at")) or _aware(doc.get("received_at")),
        "received_at": _aware(doc.get("received_at")),
        "detail": detail,
        "source": doc.get("source") or "webhook",
    }


def _timeline(call: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per life step: the earliest event time, else the time written on the call."""
    steps: dict[str, dict[str, Any]] = {}
    for ev in events:
        if ev["step"] not in TIMELINE_STEPS:
            continue
        seen = steps.get(ev["step"])
        if seen is None or (ev["at"] and (seen["at"] is None or ev["at"] < seen["at"])):
            steps[ev["step"]] = {"step": ev["step"], "at": ev["at"], "detail": ev["detail"]}
    for step, field in _DOC_TIMES.items():
        at = _aware(call.get(field))
        if step not in steps and at:
            steps[step] = {"step": step, "at": at, "detail": "recorded on the call"}
    if "billed" not in steps and call.get("billing_status"):
        steps["billed"] = {
            "step": "billed",
            "at": None,
            "detail": f"{call['billing_status']}, {call.get('billed_duration_seconds', '?')} s billed",
        }
    if "priced" not in steps and call.get("telephony_price") is not None:
        steps["priced"] = {
            "step": "priced",
            "at": None,
            "detail": f"Twilio price {call['telephony_price']} {call.get('price_unit') or ''}".strip(),
        }
    elif "priced" in steps and call.get("telephony_price") is not None:
        steps["priced"]["detail"] = (
            f"Twilio price {call['telephony_price']} {call.get('price_unit') or ''}"
        ).strip()
    return [steps[s] for s in TIMELINE_STEPS if s in steps]


def _speaker(role: str) -> str:
    if role == "agent":
        return "agent"
    if role == "user":
        return "candidate"
    return "tool"


def _messages(transcript: dict[str, Any] | None) -> list[dict[str, Any]]:
    out = []
    for m in ((transcript or {}).get("messages") or [])[:_MAX_MESSAGES]:
        out.append(
            {
                "speaker": _speaker(str(m.get("role") or "")),
                "text": str(m.get("text") or ""),
                "start_s": m.get("start_s"),
                "end_s": m.get("end_s"),
            }
        )
    return out


def _public_review(review: dict[str, Any] | None, reviewer: bool) -> dict[str, Any] | None:
    if not review:
        return None
    out = {k: review.get(k) for k in ("decision", "ratings", "overall", "by", "at")}
    out["ratings"] = dict(out.get("ratings") or {})
    out["notes"] = review.get("notes", "") if reviewer else None
    return out


def call_detail(db: Database, call_id: str, user: User | None = None) -> dict[str, Any] | None:
    """Everything the call page shows, redacted for the user's role (None: as for a viewer)."""
    call_id = valid_call_id(call_id)  # type: ignore[assignment]
    if call_id is None:
        return None
    call = db[CALLS].find_one({"_id": call_id}, {"request_body": 0})
    if call is None:
        return None
    reviewer = can(user, Action.REVIEW_CALLS)
    cand = (
        db[CANDIDATES].find_one(
            {"_id": call.get("candidate_id")}, {"name": 1, "phone": 1, "timezone": 1, "do_not_call": 1}
        )
        or {}
    )
    job = db[JOBS].find_one({"_id": call.get("job_id")}, {"title": 1, "company": 1}) or {}
    try:
        phone = crypto.decrypt(cand.get("phone")) or ""
    except crypto.CryptoError:
        phone = ""  # a rotated key must not take the review page down
    # Indexed (call_id, received_at) on MongoDB; bounded either way.
    events = [
        _event_view(d)
        for d in db[CALL_EVENTS]
        .find(
            {"call_id": call_id},
            {"payload": 1, "provider": 1, "kind": 1, "occurred_at": 1, "received_at": 1, "source": 1},
        )
        .sort("received_at", 1)
        .limit(_EVENT_LIMIT)
    ]
    transcript = db[TRANSCRIPTS].find_one({"_id": call_id})
    messages = _messages(transcript)
    amount, estimated = call_cost(call)
    snapshot = call.get("config_snapshot") or {}
    return {
        "id": call_id,
        "call": {k: v for k, v in call.items() if k != "review"},
        "status": call.get("status"),
        "in_flight": call.get("status") in _OPEN,
        "outcome": outcome_text(call),
        "started_at": _started(call),
        "candidate": {
            "id": call.get("candidate_id"),
            "name": cand.get("name") or "(deleted candidate)",
            "phone": phone if reviewer else crypto.mask_phone(phone),
            "timezone": cand.get("timezone") or "",
            "do_not_call": bool(cand.get("do_not_call")),
        },
        "job": {
            "id": call.get("job_id"),
            "title": job.get("title") or "(deleted job)",
            "company": job.get("company") or "",
        },
        "cost": amount,
        "cost_estimated": estimated,
        "costs": call.get("costs") or {},
        "timeline": _timeline(call, events),
        "events": events,
        "transcript": messages,
        "transcript_status": call.get("transcript_status") or ("stored" if transcript else "pending"),
        "summary": call.get("summary") or "",
        "short_summary": call.get("short_summary") or "",
        "config": snapshot.get("config") or {},
        "config_meta": {
            k: snapshot.get(k) for k in ("taken_at", "global_version", "job_version", "overridden_fields")
        },
        "rendered_prompt": call.get("rendered_prompt") or "",
        "calling_window": call.get("calling_window") or {},
        "questions": question_answers(_questions(call), messages),
        "review": _public_review(call.get("review"), reviewer),
        "can_review": reviewer,
        "recording_enabled": (snapshot.get("config") or {}).get("recording_enabled"),
    }
