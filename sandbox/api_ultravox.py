"""The sandbox's Ultravox face: calls, messages, recordings, voices, models, and the media files."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request

from sandbox import api_common as common
from sandbox import audio, player
from sandbox.state import UltravoxCall, iso_now

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


def _media_token(kind: str, ident: str) -> str:
    # Stands in for the signed storage URL the real recording redirect points to.
    key = common.state().config.ultravox_api_key.encode()
    return hmac.new(key, f"{kind}:{ident}".encode(), hashlib.sha256).hexdigest()[:32]


# -- Ultravox -------------------------------------------------------------------------------

ultravox = Blueprint("ultravox", __name__)


@ultravox.before_request
def _ultravox_auth() -> Any:
    key = request.headers.get("X-API-Key")
    if not key:
        if request.headers.get("Authorization"):
            return jsonify(detail="Use the X-API-Key header; Authorization is not accepted."), 401
        return jsonify(detail="Authentication credentials were not provided."), 401
    if not hmac.compare_digest(key, common.state().config.ultravox_api_key):
        return jsonify(detail="Invalid API key."), 403
    return None


@ultravox.post("/api/calls")
def create_call() -> Any:
    body = request.get_json(silent=True)
    common.record("ultravox", "create_call", body=body)
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
    state = common.state()
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
    common.record("ultravox", "list_calls")
    state = common.state()
    filters = {k[len("metadata."):]: v for k, v in request.args.items()
               if k.startswith("metadata.")}
    with state.lock:
        calls = sorted(state.ultravox_calls.values(), key=lambda c: c.seq,
                       reverse=request.args.get("sort", "-created") == "-created")
        items = [dict(c.data) for c in calls
                 if all((c.data.get("metadata") or {}).get(k) == v for k, v in filters.items())]
    return common.paginate(items, "/api/calls")


def _call_or_404(call_id: str) -> UltravoxCall | None:
    with common.state().lock:
        return common.state().ultravox_calls.get(call_id)


@ultravox.get("/api/calls/<call_id>")
def get_call(call_id: str) -> Any:
    common.record("ultravox", "get_call")
    call = _call_or_404(call_id)
    if call is None:
        return jsonify(detail="Not found."), 404
    with common.state().lock:
        return jsonify(dict(call.data))


@ultravox.get("/api/calls/<call_id>/messages")
def list_messages(call_id: str) -> Any:
    common.record("ultravox", "list_messages")
    call = _call_or_404(call_id)
    if call is None:
        return jsonify(detail="Not found."), 404
    with common.state().lock:
        items = list(call.messages)
    return common.paginate(items, f"/api/calls/{call_id}/messages")


@ultravox.get("/api/calls/<call_id>/recording")
def get_recording(call_id: str) -> Any:
    common.record("ultravox", "get_recording")
    call = _call_or_404(call_id)
    if call is None or not call.data.get("recordingEnabled"):
        return jsonify(detail="Not found."), 404
    if not call.data.get("ended") or not call.messages:
        return jsonify(detail="Recording not available."), 404
    token = _media_token("recording", call_id)
    return redirect(f"{common.base()}/_media/recordings/{call_id}.wav?token={token}", code=302)


@ultravox.delete("/api/calls/<call_id>")
def delete_call(call_id: str) -> Any:
    # Removes the call with its messages and recording for good; later reads answer 404.
    common.record("ultravox", "delete_call")
    state = common.state()
    with state.lock:
        call = state.ultravox_calls.pop(call_id, None)
        if call is None:
            return jsonify(detail="Not found."), 404
        call.hangup_requested.set()
        state.recordings.pop(call_id, None)
        state.deleted_ultravox_calls.add(call_id)
    return Response(status=204)


@ultravox.post("/api/calls/<call_id>/send_data_message")
def send_data_message(call_id: str) -> Any:
    body = request.get_json(silent=True) or {}
    common.record("ultravox", "send_data_message", body=body)
    call = _call_or_404(call_id)
    if call is None:
        return jsonify(detail="Not found."), 404
    with common.state().lock:
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
    common.record("ultravox", "list_voices")
    items = _voices(common.base())
    search = (request.args.get("search") or "").lower()
    if search:
        items = [v for v in items if search in v["name"].lower()]
    return common.paginate(items, "/api/voices")


@ultravox.get("/api/voices/<voice_id>/preview")
def voice_preview(voice_id: str) -> Any:
    return _voice_wav(voice_id)


@ultravox.get("/api/models")
def list_models() -> Any:
    common.record("ultravox", "list_models")
    return common.paginate([{"name": m} for m in _MODELS], "/api/models")


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
    common.state().record({"service": "media", "op": "recording", "method": "GET",
                     "path": request.path, "had_api_key": "X-API-Key" in request.headers})
    if not hmac.compare_digest(request.args.get("token", ""), _media_token("recording", call_id)):
        return Response("<Error><Code>AccessDenied</Code></Error>", status=403,
                        mimetype="application/xml")
    state = common.state()
    call = _call_or_404(call_id)
    if call is None:
        return Response(status=404)
    with state.lock:
        wav = state.recordings.get(call_id)
        lines = [("agent" if m["role"] == "MESSAGE_ROLE_AGENT" else "user", m["text"])
                 for m in call.messages if m["role"] in ("MESSAGE_ROLE_AGENT", "MESSAGE_ROLE_USER")]
    if wav is None:
        wav = audio.conversation_wav(lines)
        with state.lock:
            state.recordings[call_id] = wav
    return Response(wav, mimetype="audio/wav")
