"""Placing a claimed call: Ultravox first, then Twilio; any failure ends both sides."""

from __future__ import annotations

import logging
from typing import Any

from core import crypto
from core.agent import settings as agent_settings
from core.calling import gate
from core.calling import store as call_store
from core.calling.transitions import mark_failed
from core.config import get_settings
from core.db import Database
from core.documents.call import Call
from core.people import store as people_store
from core.people.phones import PhoneNumberError, region_of
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.telephony import get_twilio, join_timeout_for
from core.providers.ultravox import get_ultravox

log = logging.getLogger(__name__)

# Twilio's hard stop sits this far above Ultravox's maxDuration, so the agent's own goodbye
# and time-exceeded message always come first.
_TIME_LIMIT_SLACK_SECONDS = 60


def build_request_body(snapshot: dict[str, Any], *, call_id: str, candidate_id: str,
                       job_id: str, ring_timeout: int) -> dict[str, Any]:
    """The Ultravox create-call body (reference §1.2 and §3): no secrets, no phone number."""
    body = dict(snapshot["ultravox"])
    body["medium"] = {"twilio": {}}
    body["metadata"] = {"screeningId": call_id, "candidateId": candidate_id, "jobId": job_id}
    body["joinTimeout"] = join_timeout_for(ring_timeout)
    return body


def dial(db: Database, call: Call) -> Call:
    """Place a claimed (`dialing`) call: Ultravox, then Twilio; any failure ends both sides."""
    call_id = call.id
    settings = get_settings()
    candidate = people_store.get_candidate(db, call.candidate_id)
    job = people_store.get_job(db, call.job_id)
    ultravox_id: str | None = None
    try:
        snapshot = agent_settings.snapshot_for_call(
            db, call.job_id, crypto.decrypt(candidate.name) if candidate else "", job.title if job else "",
            job.company if job else None)
        body = build_request_body(snapshot, call_id=call_id, candidate_id=call.candidate_id,
                                  job_id=call.job_id, ring_timeout=settings.ring_timeout_seconds)
        config_snapshot = {k: v for k, v in snapshot.items() if k not in ("rendered_prompt", "ultravox")}
        phone = crypto.decrypt(candidate.phone if candidate else None)
        call_store.record_request(db, call_id, config_snapshot=config_snapshot,
                                  rendered_prompt=snapshot["rendered_prompt"], request_body=body,
                                  destination_country=region_of(phone))
        created = get_ultravox().create_call(body)
        ultravox_id = created.call_id
        # Only while still dialing: a call failed meanwhile (stale recovery) is not resumed.
        if not call_store.attach_ultravox_id(db, call_id, ultravox_id):
            _end_ultravox(ultravox_id)
            return call_store.get_call(db, call_id) or call
        if not created.join_url:
            raise ProviderError("Ultravox", 502, "the new call has no joinUrl")
        max_seconds = int(snapshot["config"]["max_duration_minutes"]) * 60
        # Already admitted by the dial gate; this only re-spaces the Twilio request itself.
        twilio_slot = gate.acquire_slot(
            db, call_id, calls_per_second=float(snapshot["config"]["calls_per_second"]),
            max_concurrent=None, max_wait=60.0, gate_id=gate.TWILIO_GATE)
        sid = get_twilio().place_call(phone or "", created.join_url,
                                      time_limit_seconds=max_seconds + _TIME_LIMIT_SLACK_SECONDS,
                                      ring_timeout=settings.ring_timeout_seconds)
        call_store.attach_twilio_sid(db, call_id, sid, requested_at=twilio_slot.at)
    except (ProviderError, ProviderUnavailable, PhoneNumberError, ValueError) as exc:
        step = "Twilio" if ultravox_id else "Ultravox"
        ended = _end_ultravox(ultravox_id) if ultravox_id else None
        extra = {"ultravox_end": ended} if ended else {}
        mark_failed(db, call_id, f"{step} step failed: {exc}", **extra)
        log.warning("call %s failed at the %s step: %s", call_id, step, type(exc).__name__)
    except Exception:
        if ultravox_id:
            _end_ultravox(ultravox_id)
        mark_failed(db, call_id, "internal error while dialling (see the server log)")
        log.exception("call %s: unexpected error while dialling", call_id)
    return call_store.get_call(db, call_id) or call


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
