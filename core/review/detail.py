"""One call's detail: timeline, transcript, answers, review, costs — redacted for the user's role."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core import crypto, timezones
from core.agent.validation import FIELD_LABELS
from core.auth import Action, User, can
from core.calling.outcome import outcome_text
from core.compliance.view import ComplianceSource
from core.db import Database, utcnow
from core.documents.call import Call, Review
from core.labels import yes_no
from core.lifecycle.events import dedupe_keys_of
from core.people import store as people_store
from core.people.visibility import phone_for
from core.review import retention, store
from core.review.answer_matching import screening_questions
from core.review.answers import call_answers
from core.review.filters import call_cost, currency_of, valid_call_id
from core.review.models import CallDetail, CallParty, ConfigMeta, Fact, JobRef, ReviewView
from core.review.timeline import event_entry, timeline, transcript_messages

_EVENT_LIMIT = 200  # a call has a dozen events; the cap guards the detail page
_UNREADABLE = "(cannot be decrypted: check DATA_ENCRYPTION_KEY and DATA_ENCRYPTION_OLD_KEYS)"


def readable(value: str | None, fallback: str) -> str:
    """A stored text decrypted; `fallback` when no configured key opens it (a key removed too
    early must not take the review page down)."""
    try:
        return crypto.decrypt(value) or ""
    except crypto.CryptoError:
        return fallback


def review_version(review: Review | None) -> int:
    """The version a save must expect to replace this review: 0 for none, 1 for one saved
    before reviews carried versions."""
    if review is None:
        return 0
    return review.version or 1


def public_review(review: Review | None, reviewer: bool) -> ReviewView | None:
    """The saved review as the user may see it: the notes only for those who may review."""
    if review is None:
        return None
    return ReviewView(
        decision=review.decision,
        ratings=dict(review.ratings or {}),
        overall=review.overall,
        notes=review.notes if reviewer else None,
        by=review.by,
        at=review.at,
        version=review_version(review),
    )


def config_meta(call: Call) -> ConfigMeta:
    """Where the call's settings came from (versions, the fields the job overrode)."""
    snapshot = call.config_snapshot
    return ConfigMeta(
        taken_at=snapshot.get("taken_at"),
        global_version=snapshot.get("global_version"),
        job_version=snapshot.get("job_version"),
        overridden_fields=list(snapshot.get("overridden_fields") or []),
    )


def _words(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return yes_no(value)
    return str(value)


def settings_facts(call: Call) -> list[Fact]:
    """The voice settings the call was placed with, as label/value rows in words."""
    cfg, meta = call.snapshot_config, config_meta(call)
    minutes = cfg.get("max_duration_minutes")
    overridden = [FIELD_LABELS.get(f, f.replace("_", " ")) for f in meta.overridden_fields]
    rows: list[tuple[str, Any]] = [
        ("Voice", cfg.get("voice")),
        ("Model", cfg.get("model")),
        ("Language", cfg.get("language_hint")),
        ("Temperature", cfg.get("temperature")),
        ("Longest call", f"{minutes} minutes" if minutes else None),
        ("Recording", cfg.get("recording_enabled")),
        ("Global settings version", meta.global_version),
        ("Job settings version", meta.job_version or "none (the job used the global settings)"),
        ("Changed by the job", ", ".join(overridden) or "nothing"),
    ]
    return [Fact(label, _words(value)) for label, value in rows]


def technical_facts(call: Call) -> list[Fact]:
    """The ids an operator needs to find this call at the providers or in the logs (admins only)."""
    rows = [("Call id", call.id), ("Ultravox call id", call.ultravox_call_id),
            ("Twilio call SID", call.twilio_call_sid), ("Batch id", call.batch_id),
            ("Attempt", call.attempt), ("First attempt's call id", call.first_call_id)]
    return [Fact(label, str(value)) for label, value in rows if value]


def configured_questions(call: Call) -> list[str]:
    """The screening questions as configured (placeholders not filled), one text each."""
    items = call.snapshot_config.get("screening_questions") or []
    return [str(q.get("text", "")) if isinstance(q, dict) else str(q) for q in items]


_ZONE_SOURCES = {"candidate": "from the candidate's record", "number": "from the phone number",
                 "unknown": "unknown"}


def window_facts(call: Call) -> list[Fact]:
    """The calling-hours verdict stored at dial time, as label/value rows in words (empty: not
    recorded); times on the candidate's clock."""
    window = call.calling_window
    if window is None or not window.model_fields_set:
        return []
    zone = window.zone or "UTC"
    local = _local_time_words(window.local_time)
    source = _ZONE_SOURCES.get(window.zone_source or "", "source not recorded")
    rows: list[tuple[str, Any]] = [
        ("Time zone used", f"{window.zone} ({source})" if window.zone else "unknown"),
        ("Candidate's local time", local),
        ("Inside calling hours", window.allowed),
        ("Held for a person", window.held),
        ("Why", window.reason),
        ("Window opens", timezones.readable(window.next_open_at, zone) if window.next_open_at else None),
        ("Checked", timezones.readable(window.checked_at, zone) if window.checked_at else None),
    ]
    return [Fact(label, _words(value)) for label, value in rows if value is not None]


def _local_time_words(raw: str | None) -> str | None:
    # Stored as ISO ("2026-12-02T15:34-05:00"), or as a bare "10:00" by older versions.
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    return f"{parsed.day} {parsed:%b %Y, %H:%M}"


def call_detail(db: Database, call_id: str, user: User | None = None) -> CallDetail | None:
    """Everything the call page shows, redacted for the user's role (None: as for a viewer)."""
    call_id = valid_call_id(call_id)  # type: ignore[assignment]
    if call_id is None:
        return None
    call = store.get_call(db, call_id)
    if call is None:
        return None
    reviewer = can(user, Action.REVIEW_CALLS)
    cand = people_store.call_party(db, call.candidate_id)
    screening = not call.test_call  # a test call to a team member's own number is not reviewed
    job = people_store.job_summary(db, call.job_id)
    phone = readable(cand.phone if cand else None, "")
    # A call with both provider ids: its events are read on their keys (no scan anywhere).
    keys = (dedupe_keys_of(call.ultravox_call_id, call.twilio_call_sid)
            if call.ultravox_call_id and call.twilio_call_sid else None)
    events = [event_entry(e) for e in store.call_events(db, call_id, _EVENT_LIMIT, keys)]
    transcript = store.get_transcript(db, call_id)
    messages = transcript_messages(transcript)
    amount, estimated = call_cost(call)
    return CallDetail(
        id=call_id,
        status=call.status.value,
        in_flight=call.is_open and not call.waiting_at(utcnow()),
        candidate_zone=((call.calling_window.zone if call.calling_window else None)
                        or call.candidate_zone or ""),
        outcome=outcome_text(call),
        started_at=call.started_at,
        duration_seconds=call.duration_seconds,
        opt_out=call.opt_out,
        candidate=CallParty(
            id=call.candidate_id,
            name=readable(cand.name if cand else None, "") or "(deleted candidate)",
            phone=phone_for(user, phone),
            timezone=(cand.timezone if cand else "") or "",
            do_not_call=bool(cand and cand.do_not_call),
        ),
        job=JobRef(
            id=call.job_id,
            title=(job.title if job else "") or "(deleted job)",
            company=(job.company if job else "") or "",
        ),
        cost=amount,
        cost_estimated=estimated,
        currency=currency_of(call),
        costs=call.costs,
        timeline=timeline(call, events),
        events=events,
        transcript=messages,
        transcript_status=call.transcript_status or ("stored" if transcript is not None else "pending"),
        summary=readable(call.summary, _UNREADABLE),
        short_summary=readable(call.short_summary, _UNREADABLE),
        settings=settings_facts(call),
        config_meta=config_meta(call),
        screening_questions=configured_questions(call),
        rendered_prompt=call.rendered_prompt or "",
        calling_window=window_facts(call),
        questions=call_answers(call, messages),
        review=public_review(call.review, reviewer),
        can_review=reviewer and screening,
        technical=technical_facts(call) if can(user, Action.MANAGE_USERS) else [],
        compliance=ComplianceSource.of(call),
        recording_enabled=call.snapshot_config.get("recording_enabled"),
        knockout_rules={q.id: bool(q.spec and q.spec.knockout and not q.spec.knockout.empty)
                        for q in screening_questions(call)},
        transcript_note=retention.purge_note(call.transcript_purge, "Transcript"),
    )
