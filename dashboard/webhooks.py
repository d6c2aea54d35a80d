"""Webhook sidecar: a small Flask app that receives provider webhooks (served by gunicorn)."""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, jsonify

from core import db as dbmod

log = logging.getLogger(__name__)

health_bp = Blueprint("health", __name__)


@health_bp.get("/healthz")
def healthz():
    """The process is alive (no dependency is checked)."""
    return jsonify(status="ok")


@health_bp.get("/readyz")
def readyz():
    """The database answers; 503 with the reason otherwise."""
    ok, reason = dbmod.ping(current_app.config["DB"])
    return jsonify(status="ok" if ok else "unavailable", reason=reason), 200 if ok else 503


def create_app(database=None) -> Flask:
    """Build the sidecar; `database` lets tests pass their own pymongo Database."""
    app = Flask(__name__)
    # The client is lazy (connect=False), so creating it here is safe before gunicorn forks.
    app.config["DB"] = database if database is not None else dbmod.get_db()
    app.config["MAX_CONTENT_LENGTH"] = 256 * 1024
    app.register_blueprint(health_bp)
    return app
