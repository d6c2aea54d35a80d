"""`GET /recordings/<call_id>?token=...`: a call's recording for a signed-in dashboard user.

The dashboard's call page links here with a token that names the user and the call and
expires within 10 minutes (core.review.recording_links). No token, a bad or expired one, one
for another call, or a user who may no longer open calls: 403, and nothing is fetched. The
audio is served with Range support (players seek), never cached by the browser or a proxy.
"""

from __future__ import annotations

import io
import logging

from flask import Blueprint, current_app, jsonify, request, send_file

from core.review import recording_links, recordings

log = logging.getLogger(__name__)

recordings_bp = Blueprint("recordings", __name__)


def _starts_playback() -> bool:
    # A player asks for the start first, then for ranges while seeking: audit the start only.
    wanted = request.headers.get("Range", "")
    return not wanted or wanted.replace(" ", "").startswith("bytes=0-")


@recordings_bp.get("/recordings/<call_id>")
def recording(call_id: str):
    """Serve the call's audio to the user the token was issued to (403 otherwise)."""
    db = current_app.config["DB"]
    try:
        user = recording_links.check_token(db, call_id, request.args.get("token", ""))
    except recording_links.LinkRefused as exc:
        log.info("recording link refused: %s", exc)
        return jsonify(error="this recording link is not valid (expired or not yours); "
                             "open the call page again"), 403
    got = recordings.recording_bytes(db, call_id)
    if not got.available:
        return jsonify(error=got.message), 404
    if _starts_playback():
        recording_links.record_playback(db, user, call_id)
    response = send_file(io.BytesIO(got.content), mimetype=got.content_type or "audio/wav",
                         conditional=True, max_age=0, download_name=f"recording-{call_id}.wav",
                         as_attachment=False)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
