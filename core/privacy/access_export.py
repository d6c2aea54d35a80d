"""Access request: everything the product holds about one candidate, as a ZIP of one JSON file
(profile, calls with their answers, transcripts, summaries, review and costs, webhook events,
audit entries) and the recordings (fetched as the call page's player fetches them)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import audit, crypto
from core.auth import Action, User, require
from core.db import Database, utcnow
from core.errors import UserError
from core.privacy import privacy_store
from core.review import recordings

# Internal keys and lookup hashes: no information about the person, only our bookkeeping.
_CANDIDATE_SKIP = ("name_tokens", "name_lower", "phone_hash", "lookup_kid")
_EXTENSIONS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/ogg": "ogg",
               "audio/webm": "webm", "audio/mp4": "m4a"}
JSON_NAME = "candidate.json"
_ANSWER_KEYS = ("number", "answer", "value", "at", "earlier")
_EVENT_KEYS = ("provider", "kind", "occurred_at", "received_at", "payload")
_AUDIT_KEYS = ("at", "actor", "action", "entity", "entity_id", "changes", "detail")


class ExportRefused(UserError):
    """The export cannot be made; the message says why."""


@dataclass(frozen=True)
class CandidateExport:
    """The ZIP and what it holds."""

    file_name: str
    content: bytes
    calls: int
    recordings: int
    events: int
    audit_entries: int


def _plain(value: Any) -> Any:
    """The value with every stored ciphertext inside it decrypted (dicts and lists walked)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if crypto.is_encrypted(value):
        try:
            return crypto.decrypt(value)
        except crypto.CryptoError:
            return "(cannot be decrypted)"
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return f"({len(value)} bytes)"
    return str(value)


def _tool_body(doc: dict[str, Any]) -> Any:
    body = _plain(doc.get("body"))
    try:
        return json.loads(body) if isinstance(body, str) else body
    except ValueError:
        return body


def _call(call: dict[str, Any], titles: dict[str, str], transcript: list[dict[str, Any]],
          events: list[dict[str, Any]], tools: list[dict[str, Any]], recording: str | None,
          recording_note: str) -> dict[str, Any]:
    plain = _plain(call)
    review = plain.get("review") or {}
    return {
        "id": call["_id"], "job_id": call.get("job_id"), "job": titles.get(call.get("job_id") or "", ""),
        "attempt": call.get("attempt"), "status": call.get("status"),
        "created_at": call.get("created_at"), "dialed_at": call.get("dialed_at"),
        "answered_at": call.get("answered_at"), "ended_at": call.get("ended_at"),
        "duration_seconds": call.get("duration_seconds"), "end_reason": call.get("end_reason"),
        "opt_out": call.get("opt_out"), "summary": plain.get("summary"),
        "short_summary": plain.get("short_summary"),
        "answers": [{"question_id": qid, **{k: a.get(k) for k in _ANSWER_KEYS}}
                    for qid, a in sorted((plain.get("agent_answers") or {}).items())],
        "review": {k: review.get(k) for k in ("decision", "ratings", "overall", "notes", "by", "at")}
        if review else None,
        "decision": review.get("decision"),
        "costs": plain.get("costs"),
        "human_requested": plain.get("human_requested"), "callback": plain.get("callback"),
        "voicemail_text": plain.get("voicemail_text"),
        "rendered_prompt": plain.get("rendered_prompt"),
        "transcript": [_plain(m) for m in transcript],
        "recording": recording, "recording_note": recording_note,
        "events": [{k: _plain(e.get(k)) for k in _EVENT_KEYS}
                   for e in events],
        "tool_requests": [{"tool": t.get("tool"), "at": t.get("at") or t.get("received_at"),
                           "body": _tool_body(t), "outcome": t.get("outcome")} for t in tools],
    }


def export_candidate(db: Database, actor: User, candidate_id: str, *, now: datetime | None = None,
                     fetch_recordings: bool = True) -> CandidateExport:
    """Everything we hold about one candidate as a ZIP (admin only; audited without personal text)."""
    require(actor, Action.ERASE_CANDIDATES)
    now = now or utcnow()
    cand = privacy_store.candidate_doc(db, str(candidate_id))
    if cand is None:
        gone = privacy_store.erasure_of(db, str(candidate_id))
        if gone is not None:
            raise ExportRefused(f"That candidate was erased on {gone['erased_at']:%Y-%m-%d}: nothing is held "
                                "about them any more.")
        raise ExportRefused("That candidate does not exist.")
    calls = privacy_store.calls_of(db, cand["_id"])
    ids = [c["_id"] for c in calls]
    provider_ids = [str(c[k]) for c in calls for k in ("ultravox_call_id", "twilio_call_sid") if c.get(k)]
    transcripts = privacy_store.transcripts_of(db, ids)
    events = privacy_store.events_of(db, ids, provider_ids)
    tools = privacy_store.tool_requests_of(db, ids)
    titles = privacy_store.job_titles(db, [*cand.get("job_ids", []), *(c.get("job_id") for c in calls)])
    buffer = io.BytesIO()
    shown_calls = []
    got = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for call in calls:
            name, note = None, "no recording was fetched"
            if fetch_recordings:
                audio = recordings.recording_bytes(db, call["_id"])
                if audio.available:
                    ext = _EXTENSIONS.get((audio.content_type or "").split(";")[0], "wav")
                    name = f"recordings/{call['_id']}.{ext}"
                    archive.writestr(name, audio.content or b"")
                    note, got = "", got + 1
                else:
                    note = audio.message
            mine = [e for e in events if e.get("call_id") == call["_id"] or e.get("provider_call_id") in
                    (call.get("ultravox_call_id"), call.get("twilio_call_sid"))]
            shown_calls.append(_call(call, titles, transcripts.get(call["_id"], []), mine,
                                     [t for t in tools if t.get("call_id") == call["_id"]], name, note))
        profile = {k: v for k, v in _plain(cand).items() if k not in _CANDIDATE_SKIP and k != "_id"}
        entries = privacy_store.audit_about(db, cand["_id"], ids)
        document = {
            "generated_at": now, "generated_by": actor.username,
            "candidate": {"id": cand["_id"], **profile,
                          "jobs": [{"id": j, "title": titles.get(j, "")} for j in cand.get("job_ids", [])]},
            "calls": shown_calls,
            "audit": [{k: e.get(k) for k in _AUDIT_KEYS}
                      for e in entries],
            "not_included": "Exports already downloaded and database backups are outside this file.",
        }
        archive.writestr(JSON_NAME, json.dumps(document, default=_json_default, indent=2, ensure_ascii=False))
    audit.record(db, actor=actor.username, action="candidate.export", entity="candidate",
                 entity_id=cand["_id"],
                 changes={"export": {"old": None, "new": {"calls": len(calls), "recordings": got}}})
    return CandidateExport(file_name=f"candidate-{cand['_id']}.zip", content=buffer.getvalue(),
                           calls=len(calls), recordings=got, events=len(events), audit_entries=len(entries))
