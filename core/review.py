"""Call review: the calls list, one call's detail, the reviewer's decision, exports, recordings.

Role rules for what leaves this module (pages and exports alike):
- admin and recruiter (`Action.REVIEW_CALLS`) see the candidate's full phone number and the
  review notes, and may save a review;
- viewer (`Action.VIEW` only) sees a masked number (last four digits), no email and no review
  notes, and cannot save; the CSV export for a viewer has no phone and no notes column.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pymongo.database import Database

from core import audit, crypto, rollups
from core.auth import Action, User, can, require
from core.candidates import outcome_text
from core.db import CALL_EVENTS, CALLS, CANDIDATES, JOBS, MEDIA_CACHE, TRANSCRIPTS, utcnow
from core.models import OPEN_STATUSES, CallStatus
from core.resilience import ProviderError, ProviderUnavailable
from core.telephony import PhoneNumberError, normalize_phone

log = logging.getLogger(__name__)

DECISIONS: tuple[str, ...] = ("advance", "hold", "reject")
UNDECIDED = "undecided"  # decision filter value: calls nobody has reviewed yet
RATING_MIN, RATING_MAX = 1, 5
MAX_PAGE_SIZE = 100  # one page of the table; the cap keeps a hand-edited request bounded
MAX_NOTES = 5000
# A name prefix matching more candidates than this is refused ("type more of the name"): the
# calls query takes the matching ids in an $in, which must stay small.
MAX_NAME_MATCHES = 2000
_MAX_PHONE_MATCHES = 5
_EVENT_LIMIT = 200  # a call has a dozen events; the cap guards the detail page
_MAX_MESSAGES = 5000  # shown per transcript (a 60-minute call has a few hundred turns)
_EXPORT_CALL_LIMIT = 50_000  # calls of one job read for an export
_EXPORT_BATCH = 1000
_EXCERPT_CHARS = 600
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_OPEN = frozenset(s.value for s in OPEN_STATUSES)

# What the table needs of a call: an inclusion projection keeps the prompt, the config
# snapshot, the request body and the summaries off the wire.
_LIST_FIELDS = {
    "candidate_id": 1,
    "job_id": 1,
    "status": 1,
    "created_at": 1,
    "dialed_at": 1,
    "answered_at": 1,
    "ended_at": 1,
    "duration_seconds": 1,
    "billed_duration_seconds": 1,
    "costs": 1,
    "review.decision": 1,
    "end_reason": 1,
    "failure_reason": 1,
    "opt_out": 1,
    "hold_reason": 1,
    "next_attempt_at": 1,
    "attempt": 1,
}
SORTS: dict[str, tuple[str, list[tuple[str, int]]]] = {
    "newest": ("Newest first", [("created_at", -1), ("_id", -1)]),
    "oldest": ("Oldest first", [("created_at", 1), ("_id", 1)]),
    "longest": ("Longest first", [("duration_seconds", -1), ("created_at", -1), ("_id", -1)]),
    "shortest": ("Shortest first", [("duration_seconds", 1), ("created_at", -1), ("_id", -1)]),
    "status": ("Status", [("status", 1), ("created_at", -1), ("_id", -1)]),
    "costliest": ("Costliest first", [("costs.total_micros", -1), ("created_at", -1), ("_id", -1)]),
    "decision": ("Decision", [("review.decision", 1), ("created_at", -1), ("_id", -1)]),
}
DEFAULT_SORT = "newest"


class ReviewError(ValueError):
    """Bad review input or a filter that cannot run; the message is shown to the user."""


@dataclass(frozen=True)
class CallFilters:
    """Server-side filters of the calls list; empty fields do not filter."""

    job_id: str | None = None
    statuses: tuple[str, ...] = ()
    date_from: datetime | None = None  # inclusive, on created_at (aware)
    date_to: datetime | None = None  # exclusive
    decision: str | None = None  # one of DECISIONS or UNDECIDED
    candidate: str = ""  # a name prefix or a phone number


# -- helpers ------------------------------------------------------------------------------


def valid_call_id(value: Any) -> str | None:
    """The call id if `value` is a plain id string (a deep-link parameter), else None."""
    return value if isinstance(value, str) and _ID_RE.match(value) else None


def day_range(start: date | None, end: date | None, zone: str) -> tuple[datetime | None, datetime | None]:
    """Local calendar days [start, end] in `zone` as a UTC [from, to) range for the filters."""
    tz = _zone(zone)
    lo = datetime.combine(start, time.min, tz).astimezone(UTC) if start else None
    hi = datetime.combine(end + timedelta(days=1), time.min, tz).astimezone(UTC) if end else None
    return lo, hi


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def call_cost(call: dict[str, Any]) -> tuple[Decimal | None, bool]:
    """The call's total cost (the `costs` field core.costs writes) and whether part is estimated."""
    costs = call.get("costs") or {}
    total = costs.get("total")
    if total is None:
        return None, False
    try:
        amount = Decimal(str(total))
    except (InvalidOperation, ValueError):
        return None, False
    estimated = any(bool(costs.get(k)) for k in ("ai_estimated", "telephony_estimated", "estimated"))
    return amount, estimated


def _started(call: dict[str, Any]) -> datetime | None:
    return _aware(call.get("dialed_at")) or _aware(call.get("created_at"))


def _candidate_ids(db: Database, text: str) -> list[str]:
    """Candidate ids matching a phone number (by its hash) or a name prefix."""
    text = " ".join(text.split())
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 7 and re.fullmatch(r"[\d\s+().\-/]+", text):
        try:
            e164 = normalize_phone(text)
        except PhoneNumberError as exc:
            raise ReviewError(f"That is not a valid phone number: {exc}") from None
        docs = db[CANDIDATES].find({"phone_hash": crypto.phone_hash(e164)}, {"_id": 1})
        return [d["_id"] for d in docs.limit(_MAX_PHONE_MATCHES)]
    prefix = "^" + re.escape(text.lower())
    docs = list(
        db[CANDIDATES].find({"name_lower": {"$regex": prefix}}, {"_id": 1}).limit(MAX_NAME_MATCHES + 1)
    )
    if len(docs) > MAX_NAME_MATCHES:
        raise ReviewError(
            f"More than {MAX_NAME_MATCHES:,} candidates' names start with “{text}”; type more of the name."
        )
    return [d["_id"] for d in docs]


def build_query(db: Database, filters: CallFilters) -> dict[str, Any] | None:
    """The calls query for the filters; None when no call can match (e.g. nobody by that name)."""
    query: dict[str, Any] = {}
    if filters.job_id:
        query["job_id"] = str(filters.job_id)
    if filters.statuses:
        known = {s.value for s in CallStatus}
        bad = [s for s in filters.statuses if s not in known]
        if bad:
            raise ReviewError(f"Unknown status: {', '.join(map(str, bad))}.")
        query["status"] = {"$in": sorted(set(filters.statuses))}
    created: dict[str, Any] = {}
    if filters.date_from:
        created["$gte"] = filters.date_from
    if filters.date_to:
        created["$lt"] = filters.date_to
    if created:
        query["created_at"] = created
    if filters.decision:
        if filters.decision == UNDECIDED:
            query["review.decision"] = None  # matches a missing review as well
        elif filters.decision in DECISIONS:
            query["review.decision"] = filters.decision
        else:
            raise ReviewError(f"Unknown decision: {filters.decision}.")
    if filters.candidate.strip():
        ids = _candidate_ids(db, filters.candidate)
        if not ids:
            return None
        query["candidate_id"] = ids[0] if len(ids) == 1 else {"$in": ids}
    return query


def _names(db: Database, collection: str, ids: Iterable[str], field: str) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    docs = db[collection].find({"_id": {"$in": wanted}}, {field: 1}).limit(len(wanted))
    return {d["_id"]: str(d.get(field) or "") for d in docs}


def _row(call: dict[str, Any], candidates: dict[str, str], jobs: dict[str, str]) -> dict[str, Any]:
    amount, estimated = call_cost(call)
    return {
        "id": call["_id"],
        "candidate_id": call.get("candidate_id"),
        "candidate": candidates.get(call.get("candidate_id"), "(deleted candidate)"),
        "job_id": call.get("job_id"),
        "job": jobs.get(call.get("job_id"), "(deleted job)"),
        "status": call.get("status"),
        "outcome": outcome_text(call),
        "started_at": _started(call),
        "duration_seconds": call.get("duration_seconds"),
        "cost": amount,
        "cost_estimated": estimated,
        "currency": (call.get("costs") or {}).get("currency") or "",
        "decision": (call.get("review") or {}).get("decision"),
        "in_flight": call.get("status") in _OPEN,
    }


# -- the calls list -----------------------------------------------------------------------


# Newest-first pages of a big result are read from a recent time window first, widened until
# it holds the page: the rows of a window are the global newest ones, since everything outside
# it is older. On MongoDB the created_at index makes the first window answer at once; on a
# server that sorts by scanning (the embedded one) it sorts a day of calls, not all of them.
_WINDOW_DAYS = (1, 7, 30, 120, 365)
_WINDOW_MIN_TOTAL = 2000  # below this, sorting the whole result is cheap anyway
_WINDOW_MAX_ROWS = 2000  # deeper pages read the plain way (skip + limit)


def _newest_in_window(db: Database, query: dict[str, Any], skip: int, size: int) -> list[dict] | None:
    need = skip + size
    created = dict(query.get("created_at") or {})
    top = created.get("$lt") or utcnow()
    floor = created.get("$gte")
    for days in _WINDOW_DAYS:
        bound = top - timedelta(days=days)
        if floor is not None and bound <= floor:
            return None  # the window already spans the whole date filter: sort it all
        windowed = {**query, "created_at": {**created, "$gte": bound}}
        docs = list(db[CALLS].find(windowed, _LIST_FIELDS).sort(SORTS[DEFAULT_SORT][1]).limit(need))
        if len(docs) == need:
            return docs[skip:]
    return None


def list_calls(
    db: Database, filters: CallFilters, sort: str = DEFAULT_SORT, page: int = 1, page_size: int = 25
) -> tuple[list[dict[str, Any]], int]:
    """One page of calls matching the filters, sorted in the database, and the match count."""
    if sort not in SORTS:
        raise ReviewError(f"Unknown sort: {sort}.")
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    page = max(1, int(page))
    query = build_query(db, filters)
    if query is None:
        return [], 0
    # An empty query is the whole collection: its metadata count avoids a scan.
    total = db[CALLS].count_documents(query) if query else db[CALLS].estimated_document_count()
    skip = (page - 1) * page_size
    calls = None
    if sort == DEFAULT_SORT and total > _WINDOW_MIN_TOTAL and skip + page_size <= _WINDOW_MAX_ROWS:
        calls = _newest_in_window(db, query, skip, page_size)
    if calls is None:
        cursor = db[CALLS].find(query, _LIST_FIELDS).sort(SORTS[sort][1]).skip(skip).limit(page_size)
        calls = list(cursor)
    candidates = _names(db, CANDIDATES, (c.get("candidate_id") for c in calls), "name")
    jobs = _names(db, JOBS, (c.get("job_id") for c in calls), "title")
    return [_row(c, candidates, jobs) for c in calls], total


def page_count(total: int, page_size: int) -> int:
    """How many pages `total` rows make (at least one, so page 1 always exists)."""
    size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    return max(1, -(-total // size))


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


_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    {
        "the",
        "and",
        "you",
        "your",
        "are",
        "for",
        "was",
        "were",
        "have",
        "has",
        "had",
        "what",
        "how",
        "why",
        "when",
        "where",
        "which",
        "would",
        "could",
        "can",
        "will",
        "with",
        "about",
        "this",
        "that",
        "there",
        "their",
        "them",
        "they",
        "did",
        "does",
        "do",
        "tell",
        "me",
        "please",
        "any",
        "our",
    }
)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP}


def _excerpt(text: str, limit: int = _EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def question_answers(questions: list[dict[str, Any]], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each screening question with the candidate's answer: the agent turn asking it → the
    candidate's turns that follow, up to the agent's next turn.

    The agent rephrases, so a turn "asks" a question when it holds at least half of the
    question's content words; the best such turn not yet used wins (earliest on a tie).
    """
    agent_turns = [(i, _words(m["text"])) for i, m in enumerate(messages) if m["speaker"] == "agent"]
    used: set[int] = set()
    out = []
    for number, q in enumerate(questions, start=1):
        text = str(q.get("text") or "")
        wanted = _words(text)
        best, best_score = None, 0.0
        for index, words in agent_turns:
            if index in used or not wanted:
                continue
            score = len(wanted & words) / len(wanted)
            if score > best_score:
                best, best_score = index, score
        item = {
            "number": number,
            "question": text,
            "guidance": str(q.get("guidance") or ""),
            "asked": False,
            "asked_at_s": None,
            "asked_as": None,
            "answer": None,
        }
        if best is not None and best_score >= 0.5:
            used.add(best)
            replies = []
            for m in messages[best + 1 :]:
                if m["speaker"] == "agent":
                    break
                if m["speaker"] == "candidate" and m["text"].strip():
                    replies.append(m["text"])
            item.update(
                asked=True,
                asked_at_s=messages[best]["start_s"],
                asked_as=_excerpt(messages[best]["text"], 300),
                answer=_excerpt(" ".join(replies)) if replies else "",
            )
        out.append(item)
    return out


def _questions(call: dict[str, Any]) -> list[dict[str, Any]]:
    snapshot = call.get("config_snapshot") or {}
    items = (snapshot.get("config") or {}).get("screening_questions") or []
    questions = [dict(q) if isinstance(q, dict) else {"text": str(q)} for q in items]
    # Prefer the wording the candidate heard (placeholders filled) when the snapshot has it.
    spoken = (snapshot.get("spoken") or {}).get("screening_questions") or []
    if len(spoken) == len(questions):
        for question, text in zip(questions, spoken, strict=True):
            question["text"] = text
    return questions


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


# -- the review -----------------------------------------------------------------------------


def _rating(value: Any, what: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ReviewError(f"The {what} rating must be a whole number from 1 to 5.") from None
    if number != value and str(number) != str(value).strip():
        raise ReviewError(f"The {what} rating must be a whole number from 1 to 5.")
    if not RATING_MIN <= number <= RATING_MAX:
        raise ReviewError(f"The {what} rating must be from {RATING_MIN} to {RATING_MAX}.")
    return number


def _flat(review: dict[str, Any] | None) -> dict[str, Any]:
    """A review as flat fields, for the audit diff."""
    review = review or {}
    flat = {
        "decision": review.get("decision"),
        "overall": review.get("overall"),
        "notes": review.get("notes") or "",
    }
    for key, value in (review.get("ratings") or {}).items():
        flat[f"rating_q{key}"] = value
    return flat


def save_review(
    db: Database,
    user: User | None,
    call_id: str,
    decision: str,
    ratings: dict[Any, Any] | None = None,
    overall: Any = None,
    notes: str = "",
) -> dict[str, Any]:
    """Record a reviewer's decision, ratings (per question and overall, 1–5) and notes; audited."""
    actor = require(user, Action.REVIEW_CALLS)
    call_id = valid_call_id(call_id)  # type: ignore[assignment]
    if decision not in DECISIONS:
        raise ReviewError("Choose a decision: advance, hold or reject.")
    call = db[CALLS].find_one(
        {"_id": call_id}, {"status": 1, "review": 1, "config_snapshot.config.screening_questions": 1,
                           "config_snapshot.spoken.screening_questions": 1}
    )
    if call is None:
        raise ReviewError("That call does not exist.")
    if call.get("status") in _OPEN:
        raise ReviewError("The call has not ended yet; review it once it is over.")
    count = len(_questions(call))
    clean: dict[str, int] = {}
    for key, value in (ratings or {}).items():
        try:
            number = int(key)
        except (TypeError, ValueError):
            raise ReviewError(f"Unknown question {key!r}.") from None
        if not 1 <= number <= count:
            raise ReviewError(f"This call has {count} screening question(s); there is no question {number}.")
        rated = _rating(value, f"question {number}")
        if rated is not None:
            clean[str(number)] = rated  # BSON keys are strings
    overall_rating = _rating(overall, "overall")
    if overall_rating is None:
        raise ReviewError("Give an overall rating from 1 to 5.")
    notes = (notes or "").strip()
    if len(notes) > MAX_NOTES:
        raise ReviewError(f"The notes are longer than {MAX_NOTES:,} characters.")
    review = {
        "decision": decision,
        "ratings": clean,
        "overall": overall_rating,
        "notes": notes,
        "by": actor.username,
        "at": utcnow(),
    }
    changes = audit.diff(_flat(call.get("review")), _flat(review))
    db[CALLS].update_one({"_id": call_id}, {"$set": {"review": review, "updated_at": review["at"]}})
    # "Cost per advanced candidate" counts decisions: keep the usage rollups in step.
    rollups.record_decision(db, call_id, (call.get("review") or {}).get("decision"), decision)
    audit.record(
        db, actor=actor.username, action="call.review", entity="call", entity_id=call_id, changes=changes
    )
    return review


# -- exports --------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (text from a call is untrusted)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _iso(value: Any) -> str:
    at = _aware(value)
    return at.isoformat(timespec="seconds") if at else ""


def _rank(call: dict[str, Any]) -> tuple[int, int]:
    # The call that speaks for a candidate: a reviewed one, else a completed one, else any ended.
    reviewed = 1 if (call.get("review") or {}).get("decision") else 0
    completed = 1 if call.get("status") == CallStatus.COMPLETED.value else 0
    return reviewed, completed


def export_job_csv(db: Database, user: User | None, job_id: str) -> bytes:
    """CSV (UTF-8 with BOM) of a job's screened candidates, one row each, columns by role."""
    actor = require(user, Action.VIEW)
    reviewer = can(actor, Action.REVIEW_CALLS)
    job = db[JOBS].find_one({"_id": str(job_id)}, {"title": 1})
    if job is None:
        raise ReviewError("That job does not exist.")
    fields = {
        **{k: v for k, v in _LIST_FIELDS.items() if k != "review.decision"},  # no path collision
        "review": 1,
        "summary": 1,
        "short_summary": 1,
        "config_snapshot.config.screening_questions": 1,
        "config_snapshot.spoken.screening_questions": 1,
    }
    ended = [s.value for s in CallStatus if s.value not in _OPEN]
    best: dict[str, dict[str, Any]] = {}
    attempts: dict[str, int] = {}
    questions = 0
    cursor = (
        db[CALLS]
        .find({"job_id": job["_id"], "status": {"$in": ended}}, fields)
        .sort("created_at", -1)
        .limit(_EXPORT_CALL_LIMIT)
        .batch_size(_EXPORT_BATCH)
    )
    for call in cursor:
        cid = call.get("candidate_id") or ""
        attempts[cid] = attempts.get(cid, 0) + 1
        questions = max(questions, len(_questions(call)))
        # Newest first, so a later call only wins with a strictly better rank.
        if cid not in best or _rank(call) > _rank(best[cid]):
            best[cid] = call
    people: dict[str, dict[str, Any]] = {}
    ids = sorted(best)
    for start in range(0, len(ids), _EXPORT_BATCH):
        chunk = ids[start : start + _EXPORT_BATCH]
        for doc in db[CANDIDATES].find({"_id": {"$in": chunk}}, {"name": 1, "phone": 1}):
            people[doc["_id"]] = doc
    header = ["candidate_id", "candidate_name"]
    if reviewer:
        header.append("phone")
    header += [
        "job",
        "call_id",
        "started_at_utc",
        "status",
        "outcome",
        "attempts",
        "duration_seconds",
        "decision",
        "overall_rating",
    ]
    header += [f"q{n}_rating" for n in range(1, questions + 1)]
    header += ["reviewed_by", "reviewed_at_utc"]
    if reviewer:
        header.append("review_notes")
    header += ["short_summary", "summary", "cost", "currency", "cost_estimated"]
    phone_col = header.index("phone") if reviewer else -1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    rows = sorted(
        best.items(), key=lambda kv: (str((people.get(kv[0]) or {}).get("name", "")).lower(), kv[0])
    )
    for cid, call in rows:
        person = people.get(cid) or {}
        review = call.get("review") or {}
        amount, estimated = call_cost(call)
        row: list[Any] = [cid, person.get("name", "(deleted candidate)")]
        if reviewer:
            try:
                row.append(crypto.decrypt(person.get("phone")) or "")
            except crypto.CryptoError:
                row.append("(cannot decrypt)")
        row += [
            job.get("title", ""),
            call["_id"],
            _iso(_started(call)),
            call.get("status"),
            outcome_text(call),
            attempts.get(cid, 1),
            call.get("duration_seconds", ""),
            review.get("decision") or "",
            review.get("overall") or "",
        ]
        ratings = review.get("ratings") or {}
        row += [ratings.get(str(n), "") for n in range(1, questions + 1)]
        row += [review.get("by") or "", _iso(review.get("at"))]
        if reviewer:
            row.append(review.get("notes") or "")
        row += [
            call.get("short_summary") or "",
            call.get("summary") or "",
            "" if amount is None else str(amount),
            (call.get("costs") or {}).get("currency") or "",
            "yes" if estimated else ("no" if amount is not None else ""),
        ]
        # The phone is validated E.164 ("+1…"), not free text: it is written as is.
        writer.writerow([v if i == phone_col else _cell(v) for i, v in enumerate(row)])
    audit.record(
        db,
        actor=actor.username,
        action="job.export_csv",
        entity="job",
        entity_id=job["_id"],
        detail=f"{len(rows)} candidate(s), {'with' if reviewer else 'without'} phone and notes",
    )
    return buffer.getvalue().encode("utf-8-sig")


def _clock(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "--:--"
    whole = int(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def transcript_text(db: Database, user: User | None, call_id: str) -> str:
    """One call's transcript as plain text (speaker, time into the call, words); no phone number."""
    require(user, Action.VIEW)
    detail = call_detail(db, call_id, user)
    if detail is None:
        raise ReviewError("That call does not exist.")
    started = detail["started_at"]
    lines = [
        f"Call {detail['id']}",
        f"Candidate: {detail['candidate']['name']}",
        f"Job: {detail['job']['title']}",
        f"Started (UTC): {started.isoformat(timespec='seconds') if started else 'not started'}",
        f"Outcome: {detail['outcome']}",
        "",
    ]
    spoken = [m for m in detail["transcript"] if m["speaker"] in ("agent", "candidate")]
    if not spoken:
        lines.append("(no transcript)")
    for m in spoken:
        lines.append(f"[{_clock(m['start_s'])}] {m['speaker'].capitalize()}: {m['text']}")
    return "\n".join(lines) + "\n"


# -- the recording ---------------------------------------------------------------------------

RECORDING_TTL = timedelta(hours=6)  # then fetched again (and purged by the expiry sweep)
_NO_RECORDING_TTL = timedelta(minutes=2)  # "none yet" is re-asked soon: it may still arrive
_CHUNK_BYTES = 4 * 1024 * 1024  # well under MongoDB's 16 MB document limit
_MAX_RECORDING_BYTES = 200 * 1024 * 1024


class _RecordingSource(Protocol):
    def get_recording(self, call_id: str) -> Any: ...


@dataclass(frozen=True)
class RecordingFetch:
    """A call's audio (bytes and content type), or why there is none."""

    content: bytes | None
    content_type: str | None
    message: str = ""
    cached: bool = False

    @property
    def available(self) -> bool:
        """True when there is audio to play."""
        return self.content is not None


def _cache_key(call_id: str) -> str:
    return f"recording:{call_id}"


def _read_cached(db: Database, call_id: str, now: datetime) -> RecordingFetch | None:
    head = db[MEDIA_CACHE].find_one({"_id": _cache_key(call_id)})
    if head is None or (_aware(head.get("expires_at")) or now) <= now:
        return None
    if head.get("none"):
        return RecordingFetch(None, None, head.get("message") or "No recording is available.", cached=True)
    parts = []
    for index in range(int(head.get("chunks") or 0)):
        chunk = db[MEDIA_CACHE].find_one({"_id": f"{_cache_key(call_id)}:{index}"})
        if chunk is None:  # evicted half-way: fetch again
            return None
        parts.append(bytes(chunk["data"]))
    return RecordingFetch(b"".join(parts), head.get("content_type") or "audio/wav", cached=True)


def _write_cached(
    db: Database,
    call_id: str,
    now: datetime,
    *,
    content: bytes | None = None,
    content_type: str | None = None,
    message: str = "",
) -> None:
    key = _cache_key(call_id)
    if content is None:
        db[MEDIA_CACHE].replace_one(
            {"_id": key},
            {
                "_id": key,
                "kind": "recording",
                "call_id": call_id,
                "none": True,
                "message": message,
                "fetched_at": now,
                "expires_at": now + _NO_RECORDING_TTL,
            },
            upsert=True,
        )
        return
    expires = now + RECORDING_TTL
    chunks = [content[i : i + _CHUNK_BYTES] for i in range(0, len(content), _CHUNK_BYTES)] or [b""]
    for index, data in enumerate(chunks):
        db[MEDIA_CACHE].replace_one(
            {"_id": f"{key}:{index}"},
            {
                "_id": f"{key}:{index}",
                "kind": "recording_chunk",
                "call_id": call_id,
                "data": data,
                "fetched_at": now,
                "expires_at": expires,
            },
            upsert=True,
        )
    # The head goes last: a reader never sees a head whose chunks are not all written.
    db[MEDIA_CACHE].replace_one(
        {"_id": key},
        {
            "_id": key,
            "kind": "recording",
            "call_id": call_id,
            "none": False,
            "content_type": content_type,
            "chunks": len(chunks),
            "size": len(content),
            "fetched_at": now,
            "expires_at": expires,
        },
        upsert=True,
    )


def recording_bytes(
    db: Database, call_id: str, *, client: _RecordingSource | None = None, now: datetime | None = None
) -> RecordingFetch:
    """The call's recording, fetched server-side with the API key and cached until it expires."""
    now = now or utcnow()
    call_id = valid_call_id(call_id)  # type: ignore[assignment]
    call = (
        db[CALLS].find_one(
            {"_id": call_id},
            {
                "status": 1,
                "ultravox_call_id": 1,
                "recording_available": 1,
                "config_snapshot.config.recording_enabled": 1,
            },
        )
        if call_id
        else None
    )
    if call is None:
        return RecordingFetch(None, None, "That call does not exist.")
    if call.get("status") in _OPEN:
        return RecordingFetch(None, None, "The recording is available once the call has ended.")
    enabled = ((call.get("config_snapshot") or {}).get("config") or {}).get("recording_enabled")
    if enabled is False:
        return RecordingFetch(None, None, "No recording: recording was turned off for this call.")
    if not call.get("ultravox_call_id"):
        return RecordingFetch(None, None, "No recording: the call never reached the voice agent.")
    if call.get("recording_available") is False:
        return RecordingFetch(None, None, "No recording is available for this call.")
    cached = _read_cached(db, call_id, now)
    if cached is not None:
        return cached
    if client is None:
        from core.ultravox import get_ultravox  # the client is built from settings on first use

        client = get_ultravox()
    try:
        recording = client.get_recording(call["ultravox_call_id"])
    except ProviderUnavailable as exc:
        return RecordingFetch(None, None, f"{exc} The recording cannot be played now; try again in a moment.")
    except ProviderError as exc:
        log.warning("recording of call %s refused: HTTP %s", call_id, exc.status)
        return RecordingFetch(None, None, f"Ultravox refused to give the recording (HTTP {exc.status}).")
    if recording is None or not recording.content:
        message = "No recording is available for this call (yet)."
        _write_cached(db, call_id, now, message=message)
        return RecordingFetch(None, None, message)
    if len(recording.content) > _MAX_RECORDING_BYTES:
        return RecordingFetch(None, None, "The recording is too large to play here.")
    content_type = recording.content_type if recording.content_type.startswith("audio/") else "audio/wav"
    _write_cached(db, call_id, now, content=recording.content, content_type=content_type)
    return RecordingFetch(recording.content, content_type)
