"""Webhook sidecar: a small Flask app that receives provider webhooks (served by gunicorn)."""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from core import db as dbmod
from core import startup
from core.db import Database, DatabaseError, GroupInsert
from core.lifecycle.applier import Applier
from core.lifecycle.followup_queue import FollowupQueue
from core.lifecycle.store import events_collection
from sidecar.recordings import recordings_bp
from sidecar.routes import after_apply, health_bp, twilio_bp, ultravox_bp
from sidecar.tools import tools_bp

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
# gunicorn's master stops (rather than restarting workers forever) when a worker exits with
# its "app failed to load" status.
_GUNICORN_APP_LOAD_ERROR = 4  # a Call object with a long summary is a few KB; be generous


def _database_down(exc: DatabaseError):
    # Nothing was acknowledged: the provider retries later and the event is not lost.
    log.warning("webhook not stored, database error: %s", type(exc).__name__)
    response = jsonify(error="database unavailable, retry later")
    response.headers["Retry-After"] = "5"
    return response, 503


def _http_error(exc: HTTPException):
    return jsonify(error=exc.description or exc.name), exc.code or 500


def create_app(database: Database | None = None, *, followup_in_background: bool = True,
               apply_after_ack: bool | None = None) -> Flask:
    """Build the sidecar; `database` lets tests pass their own database.

    `apply_after_ack`: answer a webhook once its event is stored and apply it right after, in
    a background thread (None: so when served for real; a test passing its own database
    applies before answering unless it asks otherwise).
    """
    if database is None:
        # Served for real: the same start-up checks as every process (one line, exit 2),
        # also when gunicorn runs without sidecar/gunicorn_conf.py.
        settings = startup.start_process("sidecar", exit_code=_GUNICORN_APP_LOAD_ERROR)
        startup.refuse_embedded_store("sidecar", settings, exit_code=_GUNICORN_APP_LOAD_ERROR)
    app = Flask(__name__)
    # The client is lazy (connect=False), so creating it here is safe before gunicorn forks.
    app.config["DB"] = database if database is not None else dbmod.get_db()
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["FOLLOWUP_IN_BACKGROUND"] = followup_in_background
    # Its threads start on first use, after gunicorn forked.
    app.extensions["followup_queue"] = FollowupQueue(app.config["DB"])
    if apply_after_ack if apply_after_ack is not None else database is None:
        # Both start no thread and open no connection here (safe before gunicorn forks).
        app.extensions["event_insert"] = GroupInsert(events_collection(app.config["DB"]))
        app.extensions["applier"] = Applier(app.config["DB"], on_applied=after_apply(app))
    app.register_blueprint(health_bp)
    app.register_blueprint(ultravox_bp)
    app.register_blueprint(twilio_bp)
    app.register_blueprint(recordings_bp)
    app.register_blueprint(tools_bp)
    app.register_error_handler(DatabaseError, _database_down)
    app.register_error_handler(HTTPException, _http_error)
    return app
