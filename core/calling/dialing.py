"""Placing a claimed call: Ultravox first, then Twilio, exactly once.

Twilio has no idempotency key, so a create whose answer is lost (a timeout, a 5xx) may have
placed the call: such a call stays `dialing`, marked unconfirmed, never `failed`, until a
status callback (it names our call id in its URL), Ultravox's `call.joined`, or a lookup of
Twilio's calls settles it (core.calling.settle). Only a refusal that proves nothing was placed
(a 4xx, a number rejected before sending) fails the call.
"""

from __future__ import annotations

import logging
from typing import Any

from core import crypto, faults
from core.agent import settings as agent_settings
from core.calling import gate
from core.calling import hours as calling_hours
from core.calling import store as call_store
from core.calling.transitions import advance_status, mark_failed
from core.compliance import consent_store, recording_consent
from core.compliance.record import record_at_dial
from core.config import get_settings
from core.db import Database, server_now
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.documents.status import CallStatus
from core.people import store as people_store
from core.people.phones import PhoneNumberError, region_of
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.telephony import PROVIDER as TWILIO
from core.providers.telephony import (
    TIME_LIMIT_SLACK_SECONDS,
    get_twilio,
    join_timeout_for,
    refused_call_reason,
)
from core.providers.ultravox import get_ultravox
from core.screening import tools

log = logging.getLogger(__name__)

def build_request_body(snapshot: dict[str, Any], *, call_id: str, candidate_id: str,
                       job_id: str, ring_timeout: int, tool_base_url: str = "http://127.0.0.1:8001",
                       tool_key: str = "", recording_consent: bool = False) -> dict[str, Any]:
    """The Ultravox create-call body (reference §1.2 and §3): no phone number; the only secret
    is the call's own tool key in `authTokens`, stripped before the body is stored."""
    body = dict(snapshot["ultravox"])
    body["medium"] = {"twilio": {}}
    body["metadata"] = {"screeningId": call_id, "candidateId": candidate_id, "jobId": job_id}
    body["joinTimeout"] = join_timeout_for(ring_timeout)
    questions = (snapshot.get("config") or {}).get("screening_questions") or []
    body["selectedTools"] = [*body.get("selectedTools", []), *tools.tool_definitions(
        base_url=tool_base_url, call_id=call_id, key=tool_key, question_count=len(questions),
        recording_consent=recording_consent)]
    return body


def _still_may_ring(db: Database, call: Call, candidate: Candidate | None) -> tuple[str, Any] | None:
    """Right before the phone is dialled, is it still allowed? None, or (why not, next opening).

    Between the claim and this moment the Ultravox step took its time: the call may have been
    ended (a sweeper, an operator), or the candidate's calling hours may have closed — by the
    clock, or because someone narrowed them meanwhile (the settings in force now are used).
    """
    current = call_store.get_call(db, call.id)
    if current is None or current.status != CallStatus.DIALING:
        return "the call was ended before the phone was dialled", None
    job = people_store.get_job(db, call.job_id)
    if job is not None and not job.takes_calls:  # closed or archived meanwhile
        return "the job was closed before the phone was dialled", None
    if call.test_call or candidate is None:
        return None
    hours = agent_settings.job_effective_config(db, call.job_id).calling_hours
    window = calling_hours.check(hours, now=server_now(db), candidate_timezone=candidate.timezone or None,
                                 phone=crypto.decrypt(candidate.phone))
    if not window.allowed:
        return f"calling hours closed before the phone was dialled ({window.reason})", window.next_open_at
    return None


def dial(db: Database, call: Call) -> Call:
    """Place a claimed (`dialing`) call: Ultravox, then Twilio; never twice, never lost."""
    call_id = call.id
    settings = get_settings()
    candidate = people_store.get_candidate(db, call.candidate_id)
    job = people_store.get_job(db, call.job_id)
    ultravox_id: str | None = None
    sending = False  # True from the moment the Twilio create may have left
    try:
        faults.point("before_ultravox_create")
        zone = (candidate.timezone if candidate else None) or (
            call.calling_window.zone if call.calling_window else None)
        phone = crypto.decrypt(candidate.phone if candidate else None)
        # Recording consent is fixed now: Ultravox's recording switch cannot change later.
        consent = recording_consent.decide_for(agent_settings.job_effective_config(db, call.job_id),
                                               candidate, phone)
        snapshot = agent_settings.snapshot_for_call(
            db, call.job_id, crypto.decrypt(candidate.name) if candidate else "", job.title if job else "",
            job.company if job else None, candidate_zone=zone, recording_off=consent.recording_off)
        recording_consent.add_ask_rule(snapshot, consent)
        body = build_request_body(snapshot, call_id=call_id, candidate_id=call.candidate_id,
                                  job_id=call.job_id, ring_timeout=settings.ring_timeout_seconds,
                                  tool_base_url=settings.webhook_base_url,
                                  tool_key=tools.call_key(settings.tool_secret, call_id),
                                  recording_consent=consent.asks)
        config_snapshot = {k: v for k, v in snapshot.items() if k not in ("rendered_prompt", "ultravox")}
        consent_store.record_decision(db, call_id, consent.record(snapshot["taken_at"]))
        call_store.record_request(db, call_id, config_snapshot=config_snapshot,
                                  rendered_prompt=snapshot["rendered_prompt"],
                                  request_body=tools.without_auth_tokens(body),
                                  destination_country=region_of(phone),
                                  compliance=record_at_dial(call, candidate, phone, snapshot["config"],
                                                            snapshot["taken_at"]))
        created = get_ultravox().create_call(body)
        ultravox_id = created.call_id
        # Only while still dialing: a call failed meanwhile (stale recovery) is not resumed.
        if not call_store.attach_ultravox_id(db, call_id, ultravox_id):
            _end_ultravox(ultravox_id)
            return call_store.get_call(db, call_id) or call
        faults.point("after_ultravox_create")
        if not created.join_url:
            raise ProviderError("Ultravox", 502, "the new call has no joinUrl")
        max_seconds = int(snapshot["config"]["max_duration_minutes"]) * 60
        # Already admitted by the dial gate; this only re-spaces the Twilio request itself.
        twilio_slot = gate.acquire_slot(
            db, call_id, limits=gate.Limits(float(snapshot["config"]["calls_per_second"]), None),
            max_wait=60.0, gate_id=gate.TWILIO_GATE)
        stop = _still_may_ring(db, call, candidate)
        if stop is not None:
            _not_dialled(db, call, ultravox_id, *stop)
            return call_store.get_call(db, call_id) or call
        if not call_store.mark_twilio_sending(db, call_id):
            _end_ultravox(ultravox_id)
            return call_store.get_call(db, call_id) or call
        sending = True
        faults.point("before_twilio_create")
        sid = get_twilio().place_call(phone or "", created.join_url,
                                      time_limit_seconds=max_seconds + TIME_LIMIT_SLACK_SECONDS,
                                      ring_timeout=settings.ring_timeout_seconds, call_id=call_id)
        faults.point("after_twilio_create")
        call_store.attach_twilio_sid(db, call_id, sid, requested_at=twilio_slot.at)
        faults.point("after_callsid_stored")
    except ProviderUnavailable as exc:
        if sending and exc.ambiguous:
            _unconfirmed(db, call_id, f"Twilio's answer was lost ({exc.reason})")
        else:
            _failed(db, call_id, ultravox_id, exc)
    except (ProviderError, PhoneNumberError, ValueError) as exc:
        _failed(db, call_id, ultravox_id, exc)
    except Exception:
        if sending:
            # The request may have reached Twilio: a lookup settles it, never a second dial.
            _unconfirmed(db, call_id, "internal error while dialling (see the server log)")
        else:
            if ultravox_id:
                _end_ultravox(ultravox_id)
            mark_failed(db, call_id, "internal error while dialling (see the server log)")
        log.exception("call %s: unexpected error while dialling", call_id)
    return call_store.get_call(db, call_id) or call


def _failed(db: Database, call_id: str, ultravox_id: str | None, exc: Exception) -> None:
    """A step failed in a way that proves the phone was not dialled: end both sides."""
    step = "Twilio" if ultravox_id else "Ultravox"
    ended = _end_ultravox(ultravox_id) if ultravox_id else None
    extra: dict[str, Any] = {"ultravox_end": ended} if ended else {}
    reason = f"{step} step failed: {exc}"
    if isinstance(exc, ProviderError) and exc.provider == TWILIO:
        code = exc.code if isinstance(exc.code, int) else None
        reason = refused_call_reason(code, exc.status)
        extra["provider_error_code"] = code
    mark_failed(db, call_id, reason, **extra)
    log.warning("call %s failed at the %s step: %s", call_id, step, type(exc).__name__)


def _unconfirmed(db: Database, call_id: str, reason: str) -> None:
    """The phone may be ringing: keep the call, its agent and its slot; settle it later."""
    call_store.mark_twilio_unconfirmed(db, call_id, reason)
    log.warning("call %s: Twilio create unconfirmed; kept dialing until settled", call_id)


def _not_dialled(db: Database, call: Call, ultravox_id: str, reason: str, requeue_at: Any) -> None:
    """Stop before the phone rang: end the agent, end the call (a batch queues it again)."""
    ended = _end_ultravox(ultravox_id)
    fields: dict[str, Any] = {"failure_reason": f"Not dialled: {reason}", "ultravox_end": ended,
                              "ended_at": server_now(db)}
    if requeue_at is not None and call.batch_id:
        fields["requeue_at"] = requeue_at
    advance_status(db, call.id, CallStatus.CANCELED, fields=fields)
    gate.release_slot(db, call.id)


def _end_ultravox(ultravox_id: str) -> str:
    """Best effort: hang up the Ultravox side; returns what happened, for the call record."""
    try:
        if get_ultravox().end_call(ultravox_id, "Sorry, we could not connect this call."):
            return "ended"
        # Not joined yet: Ultravox ends it by itself at joinTimeout (endReason `unjoined`).
        return "not joined; ends by itself at joinTimeout"
    except (ProviderError, ProviderUnavailable) as exc:
        log.warning("could not end Ultravox call: %s", type(exc).__name__)
        return f"end request failed ({type(exc).__name__}); ends at joinTimeout"
