"""What the sidecar does with one tool request of the agent: check, store once, apply, reply.

Order: the body must be a JSON object naming our call (else 400); the `X-Tool-Key` header
must be that call's key (else 401, nothing changes; another call's key included); a value that
does not fit its question is answered 200 with a corrective text and nothing is stored; the
request is stored once, keyed by a hash of (call, tool, body) since Ultravox gives no
invocation id; a request for an unknown call, an ended call or one whose Ultravox id differs
is recorded and ignored. A database error propagates (the sidecar answers 503).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import audit, crypto
from core.agent.questions import QuestionType, ValueProblem, lenient_questions, parse_value
from core.agent.settings import job_effective_config
from core.calling import hours as calling_hours
from core.compliance import recording_consent
from core.db import Database, utcnow
from core.documents.call import AgentAnswer, Call
from core.documents.status import TERMINAL_STATUSES
from core.lifecycle.opt_out import mark_do_not_call
from core.people import store as people_store
from core.screening import store, tools

log = logging.getLogger(__name__)

_MAX_TEXT = 1000
CALLBACK_MAX_DAYS = 14


@dataclass(frozen=True)
class ToolReply:
    """The sidecar's answer: HTTP status, the text the agent reads, how the agent reacts."""

    status: int
    text: str
    reaction: str = "speaks-once"


class _Bad(Exception):
    """A malformed request (400)."""


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = body.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise _Bad(f"'{name}' must be a string")
    return " ".join(str(value).split())[:_MAX_TEXT]


def request_hash(call_id: str, tool: str, body: dict[str, Any]) -> str:
    """The stored request's key: the same tool with the same body on one call is one request."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{call_id}\n{tool}\n{canonical}".encode()).hexdigest()


def handle(db: Database, tool: str, raw: bytes, given_key: str | None, secret: bytes) -> ToolReply:
    """Check, store once and apply one tool request; the reply for Ultravox."""
    if tool not in tools.TOOL_NAMES:
        return ToolReply(404, "unknown tool")
    try:
        body = json.loads(raw or b"")
    except (ValueError, RecursionError):
        return ToolReply(400, "the body is not JSON")
    if not isinstance(body, dict):
        return ToolReply(400, "the body must be a JSON object")
    call_id = body.get(tools.CALL_ID_PARAM)
    if not isinstance(call_id, str) or not call_id or len(call_id) > 100:
        return ToolReply(400, f"'{tools.CALL_ID_PARAM}' is missing")
    if not tools.key_matches(secret, call_id, given_key):
        return ToolReply(401, "not authorised")
    try:
        return _handle(db, tool, call_id, body)
    except _Bad as exc:
        return ToolReply(400, str(exc))


def _handle(db: Database, tool: str, call_id: str, body: dict[str, Any]) -> ToolReply:
    ultravox_id = body.get(tools.ULTRAVOX_ID_PARAM)
    if not isinstance(ultravox_id, str) or not ultravox_id:
        raise _Bad(f"'{tools.ULTRAVOX_ID_PARAM}' is missing")
    call = store.call_for_tool(db, call_id)
    if call is not None and call.ultravox_call_id and call.ultravox_call_id != ultravox_id:
        # The key is right but the agent is another one: a copied key, not this call's agent.
        return ToolReply(401, "not authorised")
    prepared = _prepare(tool, body, call)
    if isinstance(prepared, ToolReply):
        return prepared  # a value that does not fit: nothing stored
    request_id = request_hash(call_id, tool, body)
    now = utcnow()
    # The body holds the candidate's words: stored encrypted, like transcripts.
    doc = {"_id": request_id, "call_id": call_id, "tool": tool, "received_at": now,
           "body": crypto.encrypt(json.dumps(body, ensure_ascii=False)), "outcome": "received"}
    if not store.insert_request(db, doc):
        stored = store.get_request(db, request_id) or {}
        return ToolReply(200, str(stored.get("reply") or "Noted."))
    if call is None or call.status in TERMINAL_STATUSES:
        why = "unknown call" if call is None else f"call already ended ({call.status.value})"
        store.finish_request(db, request_id, f"ignored: {why}", "Noted.")
        log.info("tool %s for an %s: recorded and ignored", tool, why)
        return ToolReply(200, "Noted.")
    outcome, reply = _apply(db, tool, call, prepared, now)
    store.finish_request(db, request_id, outcome, reply.text)
    return reply


def _prepare(tool: str, body: dict[str, Any], call: Call | None) -> dict[str, Any] | ToolReply:
    """The request's arguments, typed; a corrective reply when a value does not fit."""
    if tool == tools.RECORD_ANSWER:
        number = body.get("question")
        if isinstance(number, str) and number.strip().isdigit():
            number = int(number.strip())
        if not isinstance(number, int) or isinstance(number, bool):
            raise _Bad("'question' must be a question number")
        answer = _text(body, "answer_text")
        raw_value = _text(body, "value", required=False)
        if call is None:
            return {"number": number, "answer": answer, "value": raw_value}
        questions = lenient_questions(call.snapshot_config.get("screening_questions") or [])
        if not 1 <= number <= len(questions):
            return ToolReply(200, f"Not recorded: the question number must be from 1 to {len(questions)}.",
                             "speaks")
        spec = questions[number - 1]
        try:
            value = parse_value(spec, raw_value or (answer if spec.type == QuestionType.OPEN else ""))
        except ValueProblem as exc:
            return ToolReply(200, f"Not recorded: for question {number}, {exc}. Ask the candidate "
                                  "if needed, then call recordAnswer again.", "speaks")
        if spec.type == QuestionType.OPEN:
            value = None  # the words are the answer
        return {"number": number, "question_id": spec.id, "answer": answer or raw_value, "value": value}
    if tool == tools.REQUEST_CALLBACK:
        return {"when": _text(body, "when")}
    if tool == tools.RECORDING_CONSENT:
        return {"granted": _granted(body.get("granted"))}
    return {"reason": _text(body, "reason", required=False)}


def _granted(value: Any) -> bool:
    # A boolean as the schema asks; "yes"/"no" and "true"/"false" as a model may send them.
    if isinstance(value, bool):
        return value
    words = {"true": True, "yes": True, "false": False, "no": False}
    if isinstance(value, str) and value.strip().lower() in words:
        return words[value.strip().lower()]
    raise _Bad("'granted' must be true or false")


def _apply(db: Database, tool: str, call: Call, args: dict[str, Any], now: datetime) -> tuple[str, ToolReply]:
    if tool == tools.RECORD_ANSWER:
        return _record_answer(db, call, args, now)
    if tool == tools.RECORDING_CONSENT:
        outcome, text = recording_consent.report(db, call, args["granted"], now)
        return outcome, ToolReply(200, text)
    if tool == tools.OPT_OUT:
        mark_do_not_call(db, call, args["reason"] or "asked through the agent's tool")
        return "opted out", ToolReply(200, "Noted: they will not be called again. Apologise, say "
                                           "goodbye and end the call.")
    if tool == tools.REQUEST_HUMAN:
        # The reason may say why (an accommodation): personal, so encrypted and kept out of the
        # audit entry, which names only the job and the call.
        reason = crypto.encrypt(args["reason"] or "asked for a person") or ""
        store.set_human_requested(db, call.id, reason, now)
        if people_store.mark_human_requested(db, call.candidate_id, call.job_id, call_id=call.id,
                                             reason=reason):
            audit.record(db, actor="system", action="candidate.human_requested", entity="candidate",
                         entity_id=call.candidate_id, detail=f"job {call.job_id}, call {call.id}")
        return "human requested", ToolReply(200, "Noted: a member of the hiring team will contact "
                                                 "them. Thank them and end the call.")
    return _callback(db, call, args["when"], now)


def _record_answer(db: Database, call: Call, args: dict[str, Any], now: datetime) -> tuple[str, ToolReply]:
    qid = args["question_id"]
    answer = AgentAnswer(number=args["number"], answer=crypto.encrypt(args["answer"]) or "",
                         value=args["value"], at=now)
    for _ in range(5):
        current = store.call_for_tool(db, call.id)
        previous = (current.agent_answers if current else {}).get(qid)
        if store.record_answer(db, call.id, qid, answer, previous):
            corrected = previous is not None
            return ("corrected" if corrected else "recorded"), ToolReply(
                200, "Noted (corrected)." if corrected else "Noted.")
    raise RuntimeError("the answer kept changing under us")  # five corrections at once


def _zone(db: Database, call: Call) -> ZoneInfo | None:
    names = [call.calling_window.zone if call.calling_window else None]
    cand = people_store.get_candidate(db, call.candidate_id)
    names.insert(0, cand.timezone if cand else None)
    for name in names:
        try:
            if name:
                return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return None


def _callback(db: Database, call: Call, when: str, now: datetime) -> tuple[str, ToolReply]:
    zone = _zone(db, call)
    try:
        local = datetime.fromisoformat(when)
    except ValueError:
        return "callback not understood", ToolReply(
            200, "Not recorded: 'when' must be a local date and time like 2026-12-03T15:00.", "speaks")
    if zone is None:
        zone = ZoneInfo("UTC")
    wanted = local.replace(tzinfo=zone) if local.tzinfo is None else local
    at = wanted
    flagged, note = False, ""
    if wanted <= now:
        return "callback in the past", ToolReply(200, "Not recorded: that time has passed; ask "
                                                     "for a time in the future.", "speaks")
    if wanted - now > timedelta(days=CALLBACK_MAX_DAYS):
        flagged, note = True, f"more than {CALLBACK_MAX_DAYS} days ahead: for the hiring manager"
    else:
        hours = job_effective_config(db, call.job_id).calling_hours
        check = calling_hours.check(hours, now=wanted, candidate_timezone=str(zone), phone=None)
        if not check.allowed and check.next_open_at is not None:
            at, note = check.next_open_at, "moved to the next opening of the calling hours"
    local_at = at.astimezone(zone)
    store.set_callback(db, call.id, {"when_local": when, "zone": str(zone), "at": at,
                                     "flagged": flagged, "note": note, "requested_at": now})
    if flagged:
        text = "Noted: the hiring team will get in touch about a time. Thank them and end the call."
    else:
        text = (f"Noted: we will call back on {local_at:%A} {local_at.day} {local_at:%B} at "
                f"{local_at:%H:%M} their time. Tell them, thank them and end the call.")
    return "callback requested", ToolReply(200, text)
