"""The sidecar's routes: provider webhooks (store once, answer, apply) and health."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

from flask import Blueprint, Flask, current_app, jsonify, request

from core import db as dbmod
from core.db import Database, GroupInsert
from core.documents.event import Event
from core.documents.status import TERMINAL_STATUSES
from core.lifecycle import events, ingest
from core.lifecycle.applier import Applier
from core.lifecycle.followup_queue import FollowupQueue, delay_after
from sidecar.signatures import require_signature, twilio_check, ultravox_check

log = logging.getLogger(__name__)

_EVENT_NAME = re.compile(r"^[a-z][a-z_.]{0,63}$")

health_bp = Blueprint("health", __name__)
ultravox_bp = Blueprint("ultravox", __name__, url_prefix="/webhooks")
twilio_bp = Blueprint("twilio", __name__, url_prefix="/webhooks/twilio")


def _db() -> Database:
    return current_app.config["DB"]


def _accepted(result: ingest.StoreResult):
    # `event`: the stored event's id, so a caller can check later that what was acknowledged
    # is there (the fault soak does).
    body = {"stored": result.new, "applied": result.applied, "orphan": result.call_id is None,
            "event": result.event_id}
    return jsonify(body), 200


def _schedule_followup(app: Flask, call_id: str, event: Event) -> None:
    """Queue the follow-up (transcript, price...) of the call this event ended, if enabled."""
    if not app.config.get("FOLLOWUP_IN_BACKGROUND", True):
        return
    queue: FollowupQueue = app.extensions["followup_queue"]
    queue.schedule(call_id, delay_after(event))


def _ends_call(event: Event) -> bool:
    """True for the events after which the call's follow-up is due."""
    if event.provider == events.TWILIO:
        return events.twilio_status(event.kind, event.payload.get("AnsweredBy")) in TERMINAL_STATUSES
    return event.kind == "call.ended"


def after_apply(app: Flask) -> Callable[[Event], None]:
    """What the applier runs after each applied event: the follow-up of an ended call."""

    def hook(event: Event) -> None:
        if event.call_id and _ends_call(event):
            _schedule_followup(app, event.call_id, event)

    return hook


def _ingest(parsed: events.ParsedEvent):
    """Store the event, then apply it: after answering (the applier) or before (inline)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    applier: Applier | None = app.extensions.get("applier")
    if applier is None:
        result = ingest.process(_db(), parsed)
        if result.call_id and result.event is not None and _ends_call(result.event):
            _schedule_followup(app, result.call_id, result.event)
        return _accepted(result)
    group: GroupInsert = app.extensions["event_insert"]
    # The answer waits for this event's own insert (grouped with concurrent ones) and nothing
    # else: a callback naming our call id is stored under it without a read (the applier
    # confirms the link), applying it is queued, and the worker's reconcile applies whatever
    # the queue never got to.
    result = ingest.receive(_db(), parsed, insert=group.insert, trust_hint=True)
    if result.call_id and not result.applied and result.event is not None:
        applier.submit(result.event, confirm=result.adopt)
    return _accepted(result)


@ultravox_bp.post("/ultravox")
@require_signature(ultravox_check, "Ultravox", 401)
def ultravox_webhook():
    """Receive an Ultravox call event: store once, answer, apply."""
    try:
        data = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        return jsonify(error="body is not valid JSON"), 400
    kind = data.get("event") if isinstance(data, dict) else None
    if isinstance(kind, str) and _EVENT_NAME.match(kind) and kind not in events.ULTRAVOX_EVENTS:
        # A well-formed, authentic event we do not use (e.g. one added later): a 4xx would
        # only make Ultravox retry it for hours.
        return jsonify(ignored=True), 200
    try:
        parsed = events.parse_ultravox(data)
    except events.BadPayload as exc:
        return jsonify(error=str(exc)), 400
    return _ingest(parsed)


@twilio_bp.post("/status")
@require_signature(twilio_check, "Twilio", 403)
def twilio_status():
    """Receive a Twilio status callback: store once, answer, apply."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return jsonify(error="expected a form body"), 400
    try:
        parsed = events.parse_twilio(request.form, request.args.get("call"))
    except events.BadPayload as exc:
        return jsonify(error=str(exc)), 400
    return _ingest(parsed)


@health_bp.get("/healthz")
def healthz():
    """The process is alive (no dependency is checked)."""
    return jsonify(status="ok")


@health_bp.get("/readyz")
def readyz():
    """The database answers; 503 with the reason otherwise."""
    ok, reason = dbmod.ping(current_app.config["DB"])
    return jsonify(status="ok" if ok else "unavailable", reason=reason), 200 if ok else 503
