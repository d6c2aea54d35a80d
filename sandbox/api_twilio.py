"""The sandbox's Twilio face: create, fetch and update calls (REST API 2010-04-01)."""

from __future__ import annotations

import hmac
import re
import time
import uuid
import xml.etree.ElementTree as ET  # parses only TwiML our own app sends here  # nosec B405
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sandbox import api_common as common
from sandbox import player
from sandbox.conversation import Outcome, outcome_for
from sandbox.state import TwilioCall, rfc2822_now

_E164 = re.compile(r"^\+[1-9]\d{1,14}$")

twilio = Blueprint("twilio", __name__, url_prefix="/2010-04-01/Accounts/<account_sid>")


@twilio.before_request
def _twilio_auth() -> Any:
    cfg = common.state().config
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return common.twilio_error(401, 20003, "Authenticate")
    if not (hmac.compare_digest(auth.username or "", cfg.twilio_account_sid)
            and hmac.compare_digest(auth.password or "", cfg.twilio_auth_token)):
        return common.twilio_error(401, 20003, "Authenticate")
    if request.view_args and request.view_args.get("account_sid") != cfg.twilio_account_sid:
        return common.twilio_error(403, 20003, "Authenticate")
    return None


def _stream_url(twiml: str) -> str | None:
    try:
        root = ET.fromstring(twiml)  # local simulator, our app's TwiML  # nosec B314
    except ET.ParseError:
        return None
    stream = root.find("./Connect/Stream")
    return stream.get("url") if stream is not None else None


@twilio.post("/Calls.json")
def create_twilio_call(account_sid: str) -> Any:
    form = request.form
    params = form.to_dict(flat=False)
    twiml = form.get("Twiml")
    common.record("twilio", "create_call", params=params, twiml=twiml)
    cfg = common.state().config
    to, from_ = form.get("To", ""), form.get("From", "")
    if not to:
        return common.twilio_error(400, 21201, "No 'To' number is specified")
    if not from_:
        return common.twilio_error(400, 21213, "No 'From' number is specified")
    if not twiml and not form.get("Url") and not form.get("ApplicationSid"):
        return common.twilio_error(400, 21205, "Url parameter is required.")
    if not _E164.match(to):
        return common.twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
    if from_ != cfg.twilio_from_number:
        return common.twilio_error(400, 21210, f"The source phone number provided, {from_}, "
                             "is not yet verified for your account.")
    events = form.getlist("StatusCallbackEvent")
    if any(e not in ("initiated", "ringing", "answered", "completed") for e in events):
        return common.twilio_error(400, 21626, "Invalid StatusCallbackEvent")
    if twiml and _malformed(twiml):
        return common.twilio_error(400, 12100, "Document parse failure")
    if outcome_for(to) == Outcome.REJECTED:
        return common.twilio_error(400, 21217, "Phone number does not appear to be valid")
    state = common.state()
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


def _start_date(value: str | None) -> date | None:
    """A StartTime filter value as a UTC day (Twilio documents YYYY-MM-DD; the SDK sends a time)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


@twilio.get("/Calls.json")
def list_twilio_calls(account_sid: str) -> Any:
    """Twilio's call list: To, From, Status and StartTime>= filters, newest first, one page."""
    args = request.args
    common.record("twilio", "list_calls", params=args.to_dict(flat=False))
    after = _start_date(args.get("StartTime>"))
    size = min(int(args.get("PageSize", "50") or 50), 1000)
    state = common.state()
    with state.lock:
        calls = [dict(c.data) for c in state.twilio_calls.values()]
    def keep(call: dict[str, Any]) -> bool:
        if args.get("To") and call["to"] != args["To"]:
            return False
        if args.get("From") and call["from"] != args["From"]:
            return False
        if args.get("Status") and call["status"] != args["Status"]:
            return False
        if after is not None:
            # Queued calls have no start time, so a StartTime filter never returns them.
            started = call.get("start_time")
            if not started or parsedate_to_datetime(started).date() < after:
                return False
        return True
    found = sorted((c for c in calls if keep(c)),
                   key=lambda c: parsedate_to_datetime(c["date_created"]), reverse=True)[:size]
    uri = f"/2010-04-01/Accounts/{account_sid}/Calls.json"
    return jsonify({"calls": found, "page": 0, "page_size": size, "start": 0, "end": max(len(found) - 1, 0),
                    "uri": uri, "first_page_uri": uri, "next_page_uri": None, "previous_page_uri": None})


def _malformed(twiml: str) -> bool:
    try:
        ET.fromstring(twiml)  # local simulator, our app's TwiML  # nosec B314
    except ET.ParseError:
        return True
    return False


@twilio.get("/Calls/<call_sid>.json")
def fetch_twilio_call(account_sid: str, call_sid: str) -> Any:
    common.record("twilio", "fetch_call")
    state = common.state()
    with state.lock:
        tcall = state.twilio_calls.get(call_sid)
        if tcall is None:
            return common.twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return jsonify(dict(tcall.data))


@twilio.delete("/Calls/<call_sid>.json")
def delete_twilio_call(account_sid: str, call_sid: str) -> Any:
    common.record("twilio", "delete_call")
    state = common.state()
    with state.lock:
        tcall = state.twilio_calls.pop(call_sid, None)
        if tcall is None:
            return common.twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        state.deleted_twilio_calls.add(call_sid)
    return Response(status=204)


@twilio.post("/Calls/<call_sid>.json")
def update_twilio_call(account_sid: str, call_sid: str) -> Any:
    status = request.form.get("Status")
    common.record("twilio", "update_call", params=request.form.to_dict(flat=False))
    state = common.state()
    with state.lock:
        tcall = state.twilio_calls.get(call_sid)
        if tcall is None:
            return common.twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        current = tcall.data["status"]
        if status not in (None, "completed", "canceled"):
            return common.twilio_error(400, 21218, f"Invalid Status: {status}")
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
