"""The sidecar's routes: provider webhooks (store once, apply, answer fast) and health."""

from __future__ import annotations

import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, current_app, jsonify, request

from core import db as dbmod
from core.db import Database
from core.documents.status import TERMINAL_STATUSES
from core.lifecycle import events, followup, ingest
from sidecar.signatures import require_signature, twilio_check, ultravox_check

log = logging.getLogger(__name__)

_EVENT_NAME = re.compile(r"^[a-z][a-z_.]{0,63}$")
_FOLLOWUP_QUEUE_LIMIT = 200  # beyond this, reconcile (worker) picks the work up instead

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


def _schedule_followup(call_id: str) -> None:
    """Run the call's follow-up (transcript, price...) off the request thread, if enabled."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("FOLLOWUP_IN_BACKGROUND", True):
        return
    executor: ThreadPoolExecutor | None = app.extensions.get("followup_executor")
    if executor is None:
        # Created on first use, i.e. after gunicorn forked (threads do not survive a fork).
        executor = app.extensions.setdefault(
            "followup_executor", ThreadPoolExecutor(max_workers=2, thread_name_prefix="followup")
        )
    if executor._work_queue.qsize() > _FOLLOWUP_QUEUE_LIMIT:
        return  # the call keeps needs_followup: the worker's reconcile does it
    database = app.config["DB"]

    def run() -> None:
        try:
            followup.follow_up(database, call_id)
        except Exception:  # noqa: BLE001 - the flag stays set, reconcile retries
            log.exception("background follow-up of call %s failed; reconcile will retry", call_id)

    executor.submit(run)


@ultravox_bp.post("/ultravox")
@require_signature(ultravox_check, "Ultravox", 401)
def ultravox_webhook():
    """Receive an Ultravox call event: store once, apply, answer fast."""
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
    result = ingest.process(_db(), parsed)
    if result.call_id and parsed.kind == "call.ended":
        _schedule_followup(result.call_id)
    return _accepted(result)


@twilio_bp.post("/status")
@require_signature(twilio_check, "Twilio", 403)
def twilio_status():
    """Receive a Twilio status callback: store once, apply, answer fast."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return jsonify(error="expected a form body"), 400
    try:
        parsed = events.parse_twilio(request.form, request.args.get("call"))
    except events.BadPayload as exc:
        return jsonify(error=str(exc)), 400
    result = ingest.process(_db(), parsed)
    status = events.twilio_status(parsed.kind, parsed.payload.get("AnsweredBy"))
    if result.call_id and status in TERMINAL_STATUSES:
        _schedule_followup(result.call_id)
    return _accepted(result)


@health_bp.get("/healthz")
def healthz():
    """The process is alive (no dependency is checked)."""
    return jsonify(status="ok")


@health_bp.get("/readyz")
def readyz():
    """The database answers; 503 with the reason otherwise."""
    ok, reason = dbmod.ping(current_app.config["DB"])
    return jsonify(status="ok" if ok else "unavailable", reason=reason), 200 if ok else 503
