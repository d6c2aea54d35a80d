"""A textbook Twilio status-callback receiver: the baseline of bench/webhook_throughput.py.

    gunicorn --workers 2 --threads 16 "bench.textbook_receiver:create_app()"

What a tutorial receiver does and nothing more: verify the signature against the public URL,
insert one document per callback (a unique key makes a replay store nothing new), answer
with the stored id. No link to a call, no status change, no usage counters. It reads the same
settings as the sidecar (MONGODB_URI, MONGODB_DB, TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL) and
writes to its own collection, so both can be measured against the same database.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError
from twilio.request_validator import RequestValidator

from core.config import get_settings

COLLECTION = "textbook_events"


def create_app() -> Flask:
    """The receiver: one route, one insert per callback."""
    settings = get_settings()
    # One lazy client per process (connect=False: safe before gunicorn forks).
    client: MongoClient = MongoClient(settings.effective_mongodb_uri, connect=False, tz_aware=True)
    events = client[settings.mongodb_db][COLLECTION]
    events.create_index("dedupe_key", unique=True)
    validator = RequestValidator(settings.twilio_token)
    base = settings.webhook_base_url
    app = Flask(__name__)

    @app.post("/webhooks/twilio/status")
    def status():
        query = request.query_string.decode()
        url = base + request.path + (f"?{query}" if query else "")
        if not validator.validate(url, request.form, request.headers.get("X-Twilio-Signature", "")):
            return jsonify(error="bad signature"), 403
        form = request.form.to_dict()
        key = f"tw:{form.get('CallSid')}:{form.get('SequenceNumber')}"
        doc = {"_id": uuid.uuid4().hex, "dedupe_key": key, "call": request.args.get("call"),
               "payload": form, "received_at": datetime.now(UTC)}
        try:
            events.insert_one(doc)
        except DuplicateKeyError:
            return jsonify(stored=False), 200
        return jsonify(stored=True, event=doc["_id"]), 200

    @app.get("/readyz")
    def readyz():
        client.admin.command("ping")
        return jsonify(status="ok")

    return app
