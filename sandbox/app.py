"""The sandbox's HTTP face: Ultravox and Twilio REST paths, media, and test admin routes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, g, jsonify, redirect, request

from sandbox import audio, player
from sandbox.conversation import Outcome, outcome_for
from sandbox.state import (
    Fault,
    SandboxState,
    TwilioCall,
    UltravoxCall,
    iso_now,
    rfc2822_now,
)

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_DEFAULT_PAGE = 100
_MAX_PAGE = 500
_MODELS = ["ultravox-v0.7", "ultravox-v0.6", "ultravox-v0.6-gemma3-27b", "fixie-ai/ultravox"]
_VOICES = [
    ("Mark", "en-US", "🇺🇸 English (United States)", "Calm, friendly male voice."),
    ("Jessica", "en-US", "🇺🇸 English (United States)", "Warm, professional female voice."),
    ("Emily-English", "en-GB", "🇬🇧 English (United Kingdom)", "Clear British female voice."),
    ("Aaron-English", "en-US", "🇺🇸 English (United States)", "Energetic male voice."),
    ("Tanya-English", "en-US", "🇺🇸 English (United States)", "Soft-spoken female voice."),
    ("Conversationalist-English", "en-US", "🇺🇸 English (United States)", "Casual, chatty."),
    ("Alex-Spanish", "es-ES", "🇪🇸 Spanish (Spain)", "Voz masculina neutra."),
    ("Andrea-Spanish", "es-MX", "🇲🇽 Spanish (Mexico)", "Voz femenina cálida."),
    ("Hugo-French", "fr-FR", "🇫🇷 French (France)", "Voix masculine posée."),
    ("Alize-French", "fr-FR", "🇫🇷 French (France)", "Voix féminine claire."),
    ("Ben-German", "de-DE", "🇩🇪 German (Germany)", "Ruhige männliche Stimme."),
    ("Susi-German", "de-DE", "🇩🇪 German (Germany)", "Freundliche weibliche Stimme."),
]
_ESPEAK_LANG = {"en-US": "en-us", "en-GB": "en-gb", "es-ES": "es", "es-MX": "es-419",
                "fr-FR": "fr", "de-DE": "de"}
_PREVIEW_TEXT = {"en": "Hello! I'm {name}. I'll be your screening assistant today.",
                 "es": "Hola, soy {name}. Seré su asistente hoy.",
                 "fr": "Bonjour, je suis {name}. Je serai votre assistant aujourd'hui.",
                 "de": "Hallo, ich bin {name}. Ich bin heute Ihr Assistent."}


def _voice_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-voice:{name}"))


def _state() -> SandboxState:
    return current_app.config["SANDBOX_STATE"]


def _base() -> str:
    return request.host_url.rstrip("/")


def _media_token(kind: str, ident: str) -> str:
    # Stands in for the signed storage URL the real recording redirect points to.
    key = _state().config.ultravox_api_key.encode()
    return hmac.new(key, f"{kind}:{ident}".encode(), hashlib.sha256).hexdigest()[:32]


def _paginate(items: list[dict[str, Any]], path: str) -> Response:
    """Cursor pagination like Ultravox: {next, previous, results, total}, `next` absolute."""
    try:
        size = max(1, min(_MAX_PAGE, int(request.args.get("pageSize", _DEFAULT_PAGE))))
        start = int(base64.urlsafe_b64decode(request.args.get("cursor", "") + "==") or 0)
    except ValueError:
        return jsonify(detail="Invalid cursor or pageSize."), 400

    def link(offset: int) -> str:
        args = {k: v for k, v in request.args.items() if k != "cursor"}
        args["cursor"] = base64.urlsafe_b64encode(str(offset).encode()).decode().rstrip("=")
        return f"{_base()}{path}?{urlencode(args)}"

    page = items[start:start + size]
    return jsonify(
        next=link(start + size) if start + size < len(items) else None,
        previous=link(max(0, start - size)) if start > 0 else None,
        results=page,
        total=len(items),
    )


# -- Ultravox -------------------------------------------------------------------------------

ultravox = Blueprint("ultravox", __name__)


@ultravox.before_request
def _ultravox_auth() -> Any:
    key = request.headers.get("X-API-Key")
    if not key:
        if request.headers.get("Authorization"):
            return jsonify(detail="Use the X-API-Key header; Authorization is not accepted."), 401
        return jsonify(detail="Authentication credentials were not provided."), 401
    if not hmac.compare_digest(key, _state().config.ultravox_api_key):
        return jsonify(detail="Invalid API key."), 403
    return None


def _record(service: str, op: str, **extra: Any) -> None:
    _state().record({"service": service, "op": op, "method": request.method,
                     "path": request.path, "query": request.args.to_dict(flat=False), **extra})


@ultravox.post("/api/calls")
def create_call() -> Any:
    body = request.get_json(silent=True)
    _record("ultravox", "create_call", body=body)
    if not isinstance(body, dict):
        return jsonify(detail="JSON object body required."), 400
    errors: dict[str, list[str]] = {}
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and not k.startswith("ultravox.")
        for k, v in metadata.items()
    ):
        errors["metadata"] = ["Metadata keys and values must be strings (no 'ultravox.' keys)."]
    if "initiator" in body:
        errors["initiator"] = ["This field was removed; use firstSpeakerSettings."]
    for name in ("maxDuration", "joinTimeout"):
        if name in body and not re.match(r"^\d+(\.\d{1,9})?s$", str(body[name])):
            errors[name] = ["Invalid duration."]
    if errors:
        return jsonify(errors), 400
    state = _state()
    call_id = str(uuid.uuid4())
    host = request.host
    data = {
        "callId": call_id, "clientVersion": None, "created": iso_now(), "joined": None,
        "ended": None, "endReason": None, "billedDuration": None,
        "billingStatus": "BILLING_STATUS_PENDING", "shortSummary": None, "summary": None,
        "joinUrl": f"wss://{host}/calls/{call_id}/telephony",
        "model": "ultravox-v0.7", "voice": None, "temperature": 0, "languageHint": None,
        "maxDuration": "3600s", "joinTimeout": "30s", "recordingEnabled": False,
        "firstSpeakerSettings": {"agent": {}}, "medium": {"webRtc": {}},
        "initialOutputMedium": "MESSAGE_MEDIUM_VOICE", "metadata": {},
    }
    data.update({k: v for k, v in body.items() if k != "initialMessages"})
    data["metadata"] = metadata
    call = UltravoxCall(data=data, seq=state.next_seq())
    with state.lock:
        state.ultravox_calls[call_id] = call
    player._spawn(player.watch_unjoined, state, call)
    return jsonify(data), 201


@ultravox.get("/api/calls")
def list_calls() -> Any:
    _record("ultravox", "list_calls")
    state = _state()
    filters = {k[len("metadata."):]: v for k, v in request.args.items()
               if k.startswith("metadata.")}
    with state.lock:
        calls = sorted(state.ultravox_calls.values(), key=lambda c: c.seq,
                       reverse=request.args.get("sort", "-created") == "-created")
        items = [dict(c.data) for c in calls
                 if all((c.data.get("metadata") or {}).get(k) == v for k, v in filters.items())]
    return _paginate(items, "/api/calls")


def _call_or_404(call_id: str) -> UltravoxCall | None:
    with _state().lock:
        return _state().ultravox_calls.get(call_id)


@ultravox.get("/api/calls/<call_id>")
def get_call(call_id: str) -> Any:
    _record("ultravox", "get_call")
    call = _call_or_404(call_id)
    if call is None:
        return jsonify(detail="Not found."), 404
    with _state().lock:
        return jsonify(dict(call.data))


@ultravox.get("/api/calls/<call_id>/messages")
def list_messages(call_id: str) -> Any:
    _record("ultravox", "list_messages")
    call = _call_or_404(call_id)
    if call is None:
        return jsonify(detail="Not found."), 404
    with _state().lock:
        items = list(call.messages)
    return _paginate(items, f"/api/calls/{call_id}/messages")


@ultravox.get("/api/calls/<call_id>/recording")
def get_recording(call_id: str) -> Any:
    _record("ultravox", "get_recording")
    call = _call_or_404(call_id)
    if call is None or not call.data.get("recordingEnabled"):
        return jsonify(detail="Not found."), 404
    if not call.data.get("ended") or not call.messages:
        return jsonify(detail="Recording not available."), 404
    token = _media_token("recording", call_id)
    return redirect(f"{_base()}/_media/recordings/{call_id}.wav?token={token}", code=302)


@ultravox.post("/api/calls/<call_id>/send_data_message")
def send_data_message(call_id: str) -> Any:
    body = request.get_json(silent=True) or {}
    _record("ultravox", "send_data_message", body=body)
    call = _call_or_404(call_id)
    if call is None:
        return jsonify(detail="Not found."), 404
    with _state().lock:
        active = bool(call.data.get("joined")) and not call.data.get("ended")
    if not active:
        return jsonify(detail="Call is not active."), 422
    if body.get("type") == "hang_up":
        call.hangup_requested.set()
    return Response(status=204)


def _voices(base: str) -> list[dict[str, Any]]:
    return [
        {"voiceId": _voice_id(name), "name": name, "description": desc,
         "primaryLanguage": lang, "languageLabel": label,
         "previewUrl": f"{base}/_media/voices/{_voice_id(name)}.wav",
         "ownership": "public", "billingStyle": "VOICE_BILLING_STYLE_INCLUDED",
         "provider": "sandbox", "definition": None}
        for name, lang, label, desc in _VOICES
    ]


@ultravox.get("/api/voices")
def list_voices() -> Any:
    _record("ultravox", "list_voices")
    items = _voices(_base())
    search = (request.args.get("search") or "").lower()
    if search:
        items = [v for v in items if search in v["name"].lower()]
    return _paginate(items, "/api/voices")


@ultravox.get("/api/voices/<voice_id>/preview")
def voice_preview(voice_id: str) -> Any:
    return _voice_wav(voice_id)


@ultravox.get("/api/models")
def list_models() -> Any:
    _record("ultravox", "list_models")
    return _paginate([{"name": m} for m in _MODELS], "/api/models")


# -- media (no API key: the real ones are signed storage URLs) ----------------------------

media = Blueprint("media", __name__)


def _voice_wav(voice_id: str) -> Any:
    for name, lang, _label, _desc in _VOICES:
        if _voice_id(name) == voice_id:
            text = _PREVIEW_TEXT.get(lang[:2], _PREVIEW_TEXT["en"]).format(name=name.split("-")[0])
            wav = audio.speech_wav(text, _ESPEAK_LANG.get(lang, "en"))
            return Response(wav, mimetype="audio/wav")
    return jsonify(detail="Not found."), 404


@media.get("/_media/voices/<voice_id>.wav")
def public_voice_preview(voice_id: str) -> Any:
    return _voice_wav(voice_id)


@media.get("/_media/recordings/<call_id>.wav")
def recording_file(call_id: str) -> Any:
    # Recorded so tests can check that our API key never travels to the storage URL.
    _state().record({"service": "media", "op": "recording", "method": "GET",
                     "path": request.path, "had_api_key": "X-API-Key" in request.headers})
    if not hmac.compare_digest(request.args.get("token", ""), _media_token("recording", call_id)):
        return Response("<Error><Code>AccessDenied</Code></Error>", status=403,
                        mimetype="application/xml")
    state = _state()
    call = _call_or_404(call_id)
    if call is None:
        return Response(status=404)
    with state.lock:
        wav = state.recordings.get(call_id)
        lines = [("agent" if m["role"] == "MESSAGE_ROLE_AGENT" else "user", m["text"])
                 for m in call.messages]
    if wav is None:
        wav = audio.conversation_wav(lines)
        with state.lock:
            state.recordings[call_id] = wav
    return Response(wav, mimetype="audio/wav")


# -- Twilio ---------------------------------------------------------------------------------

twilio = Blueprint("twilio", __name__, url_prefix="/2010-04-01/Accounts/<account_sid>")


def _twilio_error(status: int, code: int, message: str) -> Any:
    return jsonify(code=code, message=message, status=status,
                   more_info=f"https://www.twilio.com/docs/errors/{code}"), status


@twilio.before_request
def _twilio_auth() -> Any:
    cfg = _state().config
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return _twilio_error(401, 20003, "Authenticate")
    if not (hmac.compare_digest(auth.username or "", cfg.twilio_account_sid)
            and hmac.compare_digest(auth.password or "", cfg.twilio_auth_token)):
        return _twilio_error(401, 20003, "Authenticate")
    if request.view_args and request.view_args.get("account_sid") != cfg.twilio_account_sid:
        return _twilio_error(403, 20003, "Authenticate")
    return None


def _stream_url(twiml: str) -> str | None:
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError:
        return None
    stream = root.find("./Connect/Stream")
    return stream.get("url") if stream is not None else None


@twilio.post("/Calls.json")
def create_twilio_call(account_sid: str) -> Any:
    form = request.form
    params = form.to_dict(flat=False)
    twiml = form.get("Twiml")
    _record("twilio", "create_call", params=params, twiml=twiml)
    cfg = _state().config
    to, from_ = form.get("To", ""), form.get("From", "")
    if not to:
        return _twilio_error(400, 21201, "No 'To' number is specified")
    if not from_:
        return _twilio_error(400, 21213, "No 'From' number is specified")
    if not twiml and not form.get("Url") and not form.get("ApplicationSid"):
        return _twilio_error(400, 21205, "Url parameter is required.")
    if not _E164.match(to):
        return _twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
    if from_ != cfg.twilio_from_number:
        return _twilio_error(400, 21210, f"The source phone number provided, {from_}, "
                             "is not yet verified for your account.")
    events = form.getlist("StatusCallbackEvent")
    if any(e not in ("initiated", "ringing", "answered", "completed") for e in events):
        return _twilio_error(400, 21626, "Invalid StatusCallbackEvent")
    if twiml and _malformed(twiml):
        return _twilio_error(400, 12100, "Document parse failure")
    if outcome_for(to) == Outcome.REJECTED:
        return _twilio_error(400, 21217, "Phone number does not appear to be valid")
    state = _state()
    sid = "CA" + uuid.uuid4().hex
    stream_url = _stream_url(twiml or "")
    match = re.search(r"/calls/([0-9a-f-]{36})/", stream_url or "")
    now = rfc2822_now()
    data = {
        "sid": sid, "account_sid": account_sid, "to": to, "to_formatted": to, "from": from_,
        "from_formatted": from_, "status": "queued", "direction": "outbound-api",
        "api_version": "2010-04-01", "date_created": now, "date_updated": now,
        "start_time": None, "end_time": None, "duration": None, "price": None,
        "price_unit": "USD", "answered_by": None, "caller_name": None, "forwarded_from": None,
        "group_sid": None, "parent_call_sid": None, "phone_number_sid": None,
        "queue_time": "0", "trunk_sid": None, "annotation": None,
        "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{sid}.json",
        "subresource_uris": {},
    }
    tcall = TwilioCall(
        data=data, status_callback=form.get("StatusCallback"), events=events,
        ring_timeout=int(form.get("Timeout", "60") or 60),
        time_limit=int(form.get("TimeLimit", "14400") or 14400),
        machine_detection=bool(form.get("MachineDetection")),
        ultravox_call_id=match.group(1) if match else None,
    )
    with state.lock:
        state.twilio_calls[sid] = tcall
    player._spawn(player.play_twilio_call, state, tcall)
    return jsonify(data), 201


def _malformed(twiml: str) -> bool:
    try:
        ET.fromstring(twiml)
    except ET.ParseError:
        return True
    return False


@twilio.get("/Calls/<call_sid>.json")
def fetch_twilio_call(account_sid: str, call_sid: str) -> Any:
    _record("twilio", "fetch_call")
    state = _state()
    with state.lock:
        tcall = state.twilio_calls.get(call_sid)
        if tcall is None:
            return _twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return jsonify(dict(tcall.data))


@twilio.post("/Calls/<call_sid>.json")
def update_twilio_call(account_sid: str, call_sid: str) -> Any:
    status = request.form.get("Status")
    _record("twilio", "update_call", params=request.form.to_dict(flat=False))
    state = _state()
    with state.lock:
        tcall = state.twilio_calls.get(call_sid)
        if tcall is None:
            return _twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        current = tcall.data["status"]
        if status not in (None, "completed", "canceled"):
            return _twilio_error(400, 21218, f"Invalid Status: {status}")
        if status and current in ("queued", "ringing", "in-progress"):
            if status == "canceled" and current == "in-progress":
                pass  # Twilio ignores cancel of an answered call
            else:
                tcall.stop_status = "canceled" if current != "in-progress" else "completed"
                tcall.stop.set()
        data = dict(tcall.data)
    # Give the player a moment to apply the stop, as Twilio answers with the new state.
    deadline = time.monotonic() + 1.0
    while status and tcall.stop.is_set() and time.monotonic() < deadline:
        with state.lock:
            if tcall.data["status"] in ("completed", "canceled"):
                data = dict(tcall.data)
                break
        time.sleep(0.01)
    return jsonify(data)


# -- admin (tests) ----------------------------------------------------------------------------

admin = Blueprint("admin", __name__, url_prefix="/_sandbox")


@admin.post("/faults")
def add_fault() -> Any:
    spec = request.get_json(silent=True) or {}
    fault = Fault(
        status=spec.get("status", 500), count=int(spec.get("count", 1)),
        retry_after=spec.get("retry_after"), hang_seconds=float(spec.get("hang_seconds", 0)),
        path_prefix=spec.get("path_prefix", "/"), method=spec.get("method"),
        after=bool(spec.get("after", False)),
    )
    with _state().lock:
        _state().faults.append(fault)
    return jsonify(ok=True), 201


@admin.delete("/faults")
def clear_faults() -> Any:
    with _state().lock:
        _state().faults.clear()
    return Response(status=204)


@admin.get("/received")
def received() -> Any:
    service = request.args.get("service")
    with _state().lock:
        items = [r for r in _state().received if not service or r["service"] == service]
    return jsonify(items)


@admin.get("/deliveries")
def deliveries() -> Any:
    with _state().lock:
        return jsonify([dict(d) for d in _state().deliveries])


@admin.get("/health")
def health() -> Any:
    return jsonify(ok=True)


# -- app --------------------------------------------------------------------------------------


def _fault_response(fault: Fault) -> Any:
    if fault.status is None:
        return None
    if request.path.startswith("/2010-04-01/"):
        body, status = _twilio_error(fault.status, 20000 + fault.status, "Injected failure")
    else:
        body, status = jsonify(detail="Injected failure."), fault.status
    resp = current_app.make_response((body, status))
    if fault.retry_after is not None:
        resp.headers["Retry-After"] = str(fault.retry_after)
    return resp


def create_app(state: SandboxState) -> Flask:
    """The sandbox Flask app over `state`."""
    app = Flask(__name__)
    app.config["SANDBOX_STATE"] = state
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    @app.before_request
    def _inject_fault() -> Any:
        fault = state.take_fault(request.method, request.path)
        if fault is None:
            return None
        if fault.after:
            g.sandbox_fault = fault  # let the request happen, then lose its answer
            return None
        if fault.hang_seconds:
            time.sleep(fault.hang_seconds)
        return _fault_response(fault)

    @app.after_request
    def _apply_after_fault(resp: Response) -> Response:
        fault = g.pop("sandbox_fault", None)
        if fault is None:
            return resp
        if fault.hang_seconds:
            time.sleep(fault.hang_seconds)
        return _fault_response(fault) or resp

    app.register_blueprint(ultravox)
    app.register_blueprint(media)
    app.register_blueprint(twilio)
    app.register_blueprint(admin)
    return app
