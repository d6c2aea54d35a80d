"""Plays simulated calls out over time and delivers their signed webhooks."""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

from sandbox import tool_calls
from sandbox.conversation import Outcome, Script, build_script, outcome_for
from sandbox.delivery import deliver_twilio, deliver_ultravox
from sandbox.signing import twilio_signature, ultravox_signature
from sandbox.state import SandboxState, TwilioCall, UltravoxCall, iso_now, rfc2822_now

log = logging.getLogger(__name__)

_PRICE_PER_MINUTE = Decimal("0.0140")  # Twilio US outbound, roughly
_AMD_SECONDS = 2.0  # sync answering-machine detection holds the stream this long
_BILLING_DELAY = 3.0  # Ultravox bills a few seconds after the end
_PRICE_DELAY = 4.0  # Twilio's price shows up a little after completion


def _spawn(target: Any, *args: Any) -> None:
    threading.Thread(target=target, args=args, daemon=True, name="sandbox-player").start()


# -- webhooks (delivery and retries: sandbox.delivery) ----------------------------------


def send_ultravox_webhook(state: SandboxState, event: str, call: UltravoxCall) -> None:
    """Deliver an Ultravox event (`call.joined`, `call.ended`, `call.billed`), signed."""
    base = state.config.webhook_base_url
    if not base:
        return
    with state.lock:
        payload = {"event": event, "call": dict(call.data)}
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")

    def make_request() -> tuple[bytes, dict[str, str]]:
        timestamp = iso_now()
        signature = ultravox_signature(body, timestamp, state.config.ultravox_webhook_secret)
        return body, {"Content-Type": "application/json",
                      "X-Ultravox-Webhook-Timestamp": timestamp,
                      "X-Ultravox-Webhook-Signature": signature}

    _spawn(deliver_ultravox, state, base.rstrip("/") + "/webhooks/ultravox", event, make_request)


def send_twilio_status(state: SandboxState, tcall: TwilioCall, event: str,
                       extra: dict[str, str] | None = None) -> None:
    """Deliver a Twilio status callback for `event` if the call subscribed to it, signed."""
    if not tcall.status_callback:
        return
    # Without StatusCallbackEvent Twilio sends only `completed`.
    if event not in (tcall.events or ["completed"]):
        return
    with state.lock:
        data = tcall.data
        params = {
            "CallSid": data["sid"], "AccountSid": data["account_sid"],
            "From": data["from"], "To": data["to"], "Caller": data["from"],
            "Called": data["to"], "CallStatus": data["status"] if event != "initiated"
            else "initiated",
            "ApiVersion": "2010-04-01", "Direction": "outbound-api",
            "CallbackSource": "call-progress-events", "Timestamp": rfc2822_now(),
            "SequenceNumber": str(tcall.sequence), "ToCountry": "US", "FromCountry": "US",
        }
        tcall.sequence += 1
    params.update(extra or {})
    url = tcall.status_callback

    def make_request() -> tuple[dict[str, str], dict[str, str]]:
        signature = twilio_signature(url, params, state.config.twilio_auth_token)
        return params, {"X-Twilio-Signature": signature,
                        "Content-Type": "application/x-www-form-urlencoded",
                        "I-Twilio-Idempotency-Token": f"{params['CallSid']}-{event}"}

    _spawn(deliver_twilio, state, url, event, make_request)


# -- Ultravox side ------------------------------------------------------------------------


def watch_unjoined(state: SandboxState, call: UltravoxCall) -> None:
    """End the call `unjoined` if nobody joins within its joinTimeout."""
    timeout = _seconds(call.data.get("joinTimeout")) or 30.0
    if call.joined_event.wait(_join_window(state, timeout)) or state.stopping.is_set():
        return
    with state.lock:
        if call.data.get("joined") or call.data.get("ended"):
            return
        call.data.update(ended=iso_now(), endReason="unjoined",
                         shortSummary=None, summary=None)
    send_ultravox_webhook(state, "call.ended", call)
    if not state.sim_sleep(_BILLING_DELAY):
        with state.lock:
            call.data.update(billedDuration="0s",
                             billingStatus="BILLING_STATUS_FREE_ZERO_EFFECTIVE_DURATION")
        send_ultravox_webhook(state, "call.billed", call)


# The sandbox compresses the providers' time by its speed, but not the caller's own work between
# creating the Ultravox call and placing the Twilio call (database commits, a CLI start-up). On a
# busy machine that work alone outlasted a 50 s join window at 200x (0.25 s) and the call ended
# unjoined, which the real 45 s of slack never allows; so the window never drops below this.
_MIN_JOIN_WINDOW_REAL_SECONDS = 2.0


def _join_window(state: SandboxState, timeout: float) -> float:
    """Real seconds to wait for a join: `timeout` simulated, at least the floor above (or all of it)."""
    return max(timeout / state.config.speed, min(timeout, _MIN_JOIN_WINDOW_REAL_SECONDS))


def _seconds(duration: Any) -> float | None:
    try:
        return float(str(duration).rstrip("s"))
    except (TypeError, ValueError):
        return None


def _play_conversation(state: SandboxState, call: UltravoxCall, tcall: TwilioCall,
                       script: Script) -> tuple[str, float]:
    """Speak the script line by line; returns (endReason, talk seconds)."""
    max_duration = _seconds(call.data.get("maxDuration")) or 3600.0
    elapsed = 0.0
    for line in script.lines:
        if elapsed + line.seconds > max_duration:
            state.sim_sleep(max_duration - elapsed, tcall.stop)
            return "timeout", max_duration
        if state.sim_sleep(line.seconds, _either(tcall.stop, call.hangup_requested)):
            if call.hangup_requested.is_set():
                return "agent_hangup", elapsed
            return "hangup", elapsed
        span = {"start": f"{elapsed:.3f}s", "end": f"{elapsed + line.seconds:.3f}s"}
        if line.role == "tool":
            _tool_messages(state, call, line, span)
            elapsed += line.seconds
            continue
        with state.lock:
            call.messages.append({
                "role": "MESSAGE_ROLE_AGENT" if line.role == "agent" else "MESSAGE_ROLE_USER",
                "text": line.text,
                "medium": "MESSAGE_MEDIUM_VOICE",
                "callStageMessageIndex": len(call.messages),
                "callStageId": call.data["callId"],
                "timespan": span,
            })
        elapsed += line.seconds
    return script.end_reason, elapsed


def _tool_messages(state: SandboxState, call: UltravoxCall, line: Any, span: dict[str, str]) -> None:
    """Make the tool call over HTTP and list it as Ultravox does: a call, then its result."""
    with state.lock:
        data = json.loads(json.dumps(call.data))
    result, error = tool_calls.invoke(data, line.text, line.args or {})
    state.record({"service": "tools", "op": line.text, "error": error})
    invocation = str(uuid.uuid4())
    with state.lock:
        for role, text in (("MESSAGE_ROLE_TOOL_CALL", json.dumps(line.args or {})),
                           ("MESSAGE_ROLE_TOOL_RESULT", result)):
            message = {"role": role, "text": text, "toolName": line.text, "invocationId": invocation,
                       "medium": "MESSAGE_MEDIUM_TEXT", "callStageMessageIndex": len(call.messages),
                       "callStageId": call.data["callId"], "timespan": span}
            if error and role == "MESSAGE_ROLE_TOOL_RESULT":
                message["errorDetails"] = error
            call.messages.append(message)


class _Either(threading.Event):
    """An event that is set when either of two events is (polled by `sim_sleep`)."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        super().__init__()
        self._a, self._b = a, b

    def wait(self, timeout: float | None = None) -> bool:  # type: ignore[override]
        deadline = time.monotonic() + (timeout or 0)
        while True:
            if self._a.is_set() or self._b.is_set():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(remaining, 0.02))


def _either(a: threading.Event, b: threading.Event) -> threading.Event:
    return _Either(a, b)


def _finish_ultravox(state: SandboxState, call: UltravoxCall, end_reason: str,
                     talk_seconds: float, script: Script | None) -> None:
    with state.lock:
        call.data.update(ended=iso_now(), endReason=end_reason)
        if script is not None:
            short, summary = script.short_summary, script.summary
            if end_reason != script.end_reason:
                short = f"The call ended early ({end_reason})."
                summary = f"The call ended early ({end_reason}) after {len(call.messages)} messages."
            call.data.update(shortSummary=short, summary=summary)
    send_ultravox_webhook(state, "call.ended", call)

    def bill() -> None:
        if state.sim_sleep(_BILLING_DELAY):
            return
        blocks = math.ceil(talk_seconds / 6) if talk_seconds > 0 else 0
        with state.lock:
            call.data.update(
                billedDuration=f"{blocks * 6}s",
                billingStatus="BILLING_STATUS_BILLED" if blocks
                else "BILLING_STATUS_FREE_ZERO_EFFECTIVE_DURATION",
            )
        send_ultravox_webhook(state, "call.billed", call)

    _spawn(bill)


# -- Twilio side ----------------------------------------------------------------------------


def _set_twilio(state: SandboxState, tcall: TwilioCall, **fields: Any) -> None:
    with state.lock:
        tcall.data.update(fields, date_updated=rfc2822_now())


def play_twilio_call(state: SandboxState, tcall: TwilioCall) -> None:
    """Run one Twilio call from `queued` to its end, with callbacks and the bridged Ultravox call."""
    try:
        _play(state, tcall)
    except Exception:  # noqa: BLE001 - a sandbox bug must not kill the server
        log.exception("sandbox call playback failed")


def _play(state: SandboxState, tcall: TwilioCall) -> None:
    number = tcall.data["to"]
    outcome = outcome_for(number)
    rng = random.Random(number)  # simulated timing, not security  # nosec B311
    send_twilio_status(state, tcall, "initiated")
    if state.sim_sleep(1.0, tcall.stop):
        return _stopped_before_answer(state, tcall)
    # Twilio's start_time is when it began dialling; a queued call has none.
    _set_twilio(state, tcall, status="ringing", start_time=rfc2822_now())
    send_twilio_status(state, tcall, "ringing")

    if outcome == Outcome.NO_ANSWER:
        if state.sim_sleep(float(tcall.ring_timeout), tcall.stop):
            return _stopped_before_answer(state, tcall)
        return _end_twilio(state, tcall, "no-answer", 0)
    if outcome == Outcome.BUSY:
        if state.sim_sleep(2.0, tcall.stop):
            return _stopped_before_answer(state, tcall)
        return _end_twilio(state, tcall, "busy", 0, {"SipResponseCode": "486"})

    if state.sim_sleep(rng.uniform(2.0, 5.0), tcall.stop):
        return _stopped_before_answer(state, tcall)
    answered_by = "machine_start" if outcome == Outcome.VOICEMAIL else "human"
    _set_twilio(state, tcall, status="in-progress",
                answered_by=answered_by if tcall.machine_detection else None)
    send_twilio_status(state, tcall, "answered",
                       {"AnsweredBy": answered_by} if tcall.machine_detection else None)
    connected = 0.0
    if tcall.machine_detection:
        connected += _AMD_SECONDS
        if state.sim_sleep(_AMD_SECONDS, tcall.stop):
            return _end_twilio(state, tcall, "completed", connected)

    with state.lock:
        call = state.ultravox_calls.get(tcall.ultravox_call_id or "")
        joinable = call is not None and not call.data.get("joined") and not call.data.get("ended")
        if joinable:
            call.data["joined"] = iso_now()
            call.twilio_sid = tcall.data["sid"]
            call.joined_event.set()
    if not joinable:
        # No live Ultravox call behind the stream: Twilio's <Connect> fails and hangs up.
        state.sim_sleep(1.0, tcall.stop)
        return _end_twilio(state, tcall, "completed", connected + 1.0)

    send_ultravox_webhook(state, "call.joined", call)
    with state.lock:
        tools = tool_calls.tool_names(call.data)
        voicemail = _voicemail_override(call.data)
    script = build_script(call.data.get("systemPrompt"), number, outcome, tools, voicemail,
                          call.data.get("firstSpeakerSettings"))
    with state.lock:
        call.script = script
    end_reason, talk = _play_conversation(state, call, tcall, script)
    limit = float(tcall.time_limit)
    _finish_ultravox(state, call, end_reason, talk, script)
    _end_twilio(state, tcall, "completed", min(limit, connected + talk))


def _voicemail_override(call_data: dict[str, Any]) -> str | None:
    """The fixed leaveVoicemail message (its `parameterOverrides`), if the call sets one."""
    for entry in call_data.get("selectedTools") or []:
        if isinstance(entry, dict) and entry.get("toolName") == "leaveVoicemail":
            message = (entry.get("parameterOverrides") or {}).get("message")
            return str(message) if message else None
    return None


def _stopped_before_answer(state: SandboxState, tcall: TwilioCall) -> None:
    if not state.stopping.is_set():
        _end_twilio(state, tcall, tcall.stop_status or "canceled", 0)


def _end_twilio(state: SandboxState, tcall: TwilioCall, status: str, seconds: float,
                extra: dict[str, str] | None = None) -> None:
    duration = int(round(seconds))
    _set_twilio(state, tcall, status=status, end_time=rfc2822_now(),
                duration=str(duration) if status == "completed" else None)
    params = {"CallDuration": str(duration), "Duration": str(math.ceil(duration / 60))}
    if tcall.machine_detection and tcall.data.get("answered_by"):
        params["AnsweredBy"] = tcall.data["answered_by"]
    params.update(extra or {})
    send_twilio_status(state, tcall, "completed", params)
    if status != "completed":
        _set_twilio(state, tcall, price="0.00000" if status != "canceled" else None,
                    price_unit="USD")
        return
    if not state.sim_sleep(_PRICE_DELAY):
        minutes = max(1, math.ceil(duration / 60))
        _set_twilio(state, tcall, price=f"-{(_PRICE_PER_MINUTE * minutes):.5f}",
                    price_unit="USD")
