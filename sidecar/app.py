"""Webhook sidecar: a small Flask app that receives provider webhooks (served by gunicorn)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import wraps
from typing import Any

from flask import Blueprint, Flask, Request, current_app, jsonify, request
from pymongo.database import Database
from pymongo.errors import PyMongoError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from core import db as dbmod
from core.documents.status import TERMINAL_STATUSES
from core.config import get_settings
from core.lifecycle import events, followup, ingest, signatures

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # a Call object with a long summary is a few KB; be generous
_EVENT_NAME = re.compile(r"^[a-z][a-z_.]{0,63}$")
_FOLLOWUP_QUEUE_LIMIT = 200  # beyond this, reconcile (worker) picks the work up instead

health_bp = Blueprint("health", __name__)
ultravox_bp = Blueprint("ultravox", __name__, url_prefix="/webhooks")
twilio_bp = Blueprint("twilio", __name__, url_prefix="/webhooks/twilio")

# A check returns None when the request is authentic, else a short reason (for the log only).
SignatureCheck = Callable[[Request], str | None]


def require_signature(check: SignatureCheck, provider: str, status: int) -> Callable:
    """Decorator: run `check` before the view; refuse with `status` and one warning if it fails."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Size first: an oversized body is refused before anything reads it.
            if (request.content_length or 0) > current_app.config["MAX_CONTENT_LENGTH"]:
                raise RequestEntityTooLarge()
            reason = check(request)
            if reason is not None:
                # Never the body, headers or phone numbers: only who and why.
                log.warning("%s webhook refused: %s (from %s)", provider, reason,
                            request.remote_addr)
                return jsonify(error="signature verification failed"), status
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _ultravox_check(req: Request) -> str | None:
    settings = get_settings()
    body = req.get_data(cache=True)  # raises 413 beyond MAX_CONTENT_LENGTH
    return signatures.verify_ultravox(
        body,
        req.headers.get("X-Ultravox-Webhook-Timestamp"),
        req.headers.get("X-Ultravox-Webhook-Signature"),
        [settings.ultravox_secret],
        max_age_seconds=settings.webhook_max_age_seconds,
    )


def public_url(req: Request) -> str:
    """The URL the provider called, rebuilt from the configured public base (proxy-safe)."""
    # Behind a tunnel or load balancer request.url has the wrong scheme/host; the provider
    # signed the public URL, and the query string must stay byte-for-byte as sent.
    query = req.query_string.decode("utf-8", "replace")
    return get_settings().webhook_base_url + req.path + (f"?{query}" if query else "")


def _twilio_check(req: Request) -> str | None:
    signature = req.headers.get("X-Twilio-Signature")
    if not signature:
        return "missing signature header"
    if not signatures.verify_twilio(public_url(req), req.form, signature, get_settings().twilio_token):
        return "bad signature"
    return None


def _db() -> Database:
    return current_app.config["DB"]


def _accepted(result: ingest.StoreResult):
    body = {"stored": result.new, "applied": result.applied, "orphan": result.call_id is None}
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
@require_signature(_ultravox_check, "Ultravox", 401)
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
@require_signature(_twilio_check, "Twilio", 403)
def twilio_status():
    """Receive a Twilio status callback: store once, apply, answer fast."""
    if request.mimetype != "application/x-www-form-urlencoded":
        return jsonify(error="expected a form body"), 400
    try:
        parsed = events.parse_twilio(request.form)
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


def _database_down(exc: PyMongoError):
    # Nothing was acknowledged: the provider retries later and the event is not lost.
    log.warning("webhook not stored, database error: %s", type(exc).__name__)
    response = jsonify(error="database unavailable, retry later")
    response.headers["Retry-After"] = "5"
    return response, 503


def _http_error(exc: HTTPException):
    return jsonify(error=exc.description or exc.name), exc.code or 500


def create_app(database: Database | None = None, *, followup_in_background: bool = True) -> Flask:
    """Build the sidecar; `database` lets tests pass their own pymongo Database."""
    app = Flask(__name__)
    # The client is lazy (connect=False), so creating it here is safe before gunicorn forks.
    app.config["DB"] = database if database is not None else dbmod.get_db()
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["FOLLOWUP_IN_BACKGROUND"] = followup_in_background
    app.register_blueprint(health_bp)
    app.register_blueprint(ultravox_bp)
    app.register_blueprint(twilio_bp)
    app.register_error_handler(PyMongoError, _database_down)
    app.register_error_handler(HTTPException, _http_error)
    return app
