"""Settling a dial whose Twilio answer never reached us (lost, or the worker died).

The call's own status callbacks usually settle it (they name our call id in their URL). When
none comes, Twilio's call list is asked: calls from our number to the candidate's, created in
[sent − 5 s, sent + 2 min] and not linked to another call of ours. Exactly one → it is ours
(its CallSid is adopted and the follow-up reads its status); none while the agent side ended
with nobody joining → it was never placed; several → the outcome is unknown. Nothing here
ever dials.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from core import crypto
from core.calling import queue_store
from core.calling import store as call_store
from core.calling.transitions import advance_status, mark_failed
from core.config import get_settings
from core.db import Database, server_now
from core.documents.call import Call
from core.documents.status import CallStatus
from core.people import store as people_store
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.telephony import TwilioCall, get_twilio

log = logging.getLogger(__name__)

# Twilio's clock and ours may differ a little: a call created just "before" the request counts.
MATCH_BEFORE = timedelta(seconds=5)


def _match_after() -> timedelta:
    return timedelta(seconds=get_settings().settle_match_after_seconds)


def matching(calls: list[TwilioCall], sent: datetime, ours: dict[str, str | None],
             call_id: str, *, match_after: timedelta = timedelta(minutes=2)) -> list[TwilioCall]:
    """The Twilio calls that may be this dial: created in the window, not linked elsewhere."""
    lo, hi = sent - MATCH_BEFORE, sent + match_after
    return [c for c in calls
            if c.date_created is not None and lo <= c.date_created <= hi
            and ours.get(c.sid) in (None, call_id)]


def settle(db: Database, call: Call, *, telephony: Any = None, now: datetime | None = None) -> str:
    """Try to settle one unconfirmed dial; returns what happened (for the log and the call)."""
    now = now or server_now(db)
    sent = call.twilio_sent_at
    candidate = people_store.get_candidate(db, call.candidate_id)
    phone = crypto.decrypt(candidate.phone) if candidate else None
    if sent is None or not phone:
        return "nothing to look up"
    try:
        found = (telephony or get_twilio()).find_calls(phone, since=sent)
    except (ProviderUnavailable, ProviderError) as exc:
        note = f"Twilio lookup failed ({exc}); will look again"
        call_store.note_settle(db, call.id, note)
        return note
    ours = {c.sid: call_store.call_id_by_twilio_sid(db, c.sid) for c in found}
    matches = matching(found, sent, ours, call.id, match_after=_match_after())
    if len(matches) == 1:
        sid = matches[0].sid
        if call_store.adopt_twilio_sid(db, call.id, sid):
            log.info("call %s: adopted Twilio call from a lookup", call.id)
            return "adopted the Twilio call found by the lookup"
        return "linked meanwhile"
    if len(matches) > 1:
        reason = (f"{len(matches)} Twilio calls to this number started around the dial; "
                  "which one was ours cannot be told")
        advance_status(db, call.id, CallStatus.UNKNOWN,
                       fields={"failure_reason": reason, "ended_at": now})
        return reason
    if call.ultravox_ended and call.joined_at is None and now > sent + _match_after():
        reason = ("never placed: Twilio has no such call and the agent side ended with nobody "
                  "joining")
        mark_failed(db, call.id, reason)
        return reason
    note = "no Twilio call found yet; will look again"
    call_store.note_settle(db, call.id, note)
    return note


def settle_due(db: Database, *, telephony: Any = None, limit: int = 20) -> int:
    """Look up the unconfirmed dials that are due; returns how many were settled."""
    settings = get_settings()
    now = server_now(db)
    settled = 0
    for call in queue_store.unlinked_dials(
            db, sent_before=now - timedelta(seconds=settings.settle_first_look_seconds),
            checked_before=now - timedelta(seconds=settings.settle_every_seconds), limit=limit):
        outcome = settle(db, call, telephony=telephony, now=now)
        if not outcome.endswith("will look again"):
            settled += 1
    return settled
