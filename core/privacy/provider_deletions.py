"""The providers' side of an erasure: each call deleted at Ultravox (its messages, recording and
summaries) and at Twilio (its call record). A deletion that fails is retried by the worker in
bounded batches with growing pauses, each batch reported in the audit log; until every one is
done the tombstone says "pending at the providers"."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from core import audit
from core.db import Database, utcnow
from core.labels import counted
from core.privacy import privacy_store
from core.providers.resilience import ProviderError, ProviderUnavailable
from core.providers.telephony import get_twilio
from core.providers.ultravox import get_ultravox

log = logging.getLogger(__name__)

BATCH = 20  # provider deletions per erasure per run: one run never holds the worker for long
_LEASE = timedelta(minutes=5)
_FIRST_PAUSE = timedelta(minutes=1)
_MAX_PAUSE = timedelta(hours=1)
_MAX_ERASURES_PER_STEP = 5


def provider_ids(calls: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The ids to delete at each provider for these calls."""
    return {
        "ultravox": sorted({str(c["ultravox_call_id"]) for c in calls if c.get("ultravox_call_id")}),
        "twilio": sorted({str(c["twilio_call_sid"]) for c in calls if c.get("twilio_call_sid")}),
    }


def _delete(provider: str, call_id: str) -> bool:
    if provider == "ultravox":
        return get_ultravox().delete_call(call_id)
    return get_twilio().delete_call(call_id)


def run_for(db: Database, erasure_id: str, *, now: datetime | None = None, limit: int = BATCH,
            actor: str = "worker") -> str:
    """One bounded batch of provider deletions for one erasure; returns what it did in words."""
    now = now or utcnow()
    tomb = privacy_store.get_erasure(db, erasure_id)
    if tomb is None or tomb.get("state") != "pending_providers":
        return ""
    pending = {p: list(ids) for p, ids in (tomb.get("pending") or {}).items()}
    providers = {p: dict(v) for p, v in (tomb.get("providers") or {}).items()}
    done = 0
    error = None
    for provider in ("ultravox", "twilio"):
        counts = providers.setdefault(provider, {})
        while pending.get(provider) and done < limit and error is None:
            call_id = pending[provider][0]
            try:
                deleted = _delete(provider, call_id)
            except (ProviderUnavailable, ProviderError) as exc:
                status = getattr(exc, "status", None)
                error = f"{provider.capitalize()} did not delete a call" + (f" (HTTP {status})" if status else
                                                                            " (unreachable)")
                log.warning("erasure %s: %s", erasure_id, error)
                break
            pending[provider].pop(0)
            key = "deleted" if deleted else "already_gone"
            counts[key] = int(counts.get(key, 0)) + 1
            done += 1
    left = sum(len(ids) for ids in pending.values())
    attempts = int(tomb.get("provider_attempts") or 0) + 1
    fields: dict[str, Any] = {"pending": pending, "providers": providers, "provider_attempts": attempts}
    if left == 0:
        fields.update(state="done", providers_done_at=now, provider_error=None)
    else:
        pause = min(_FIRST_PAUSE * (2 ** min(attempts - 1, 10)), _MAX_PAUSE) if error else timedelta(0)
        fields.update(providers_next_at=now + pause, provider_error=error)
    privacy_store.update_erasure(db, erasure_id, fields, unset=("lease_until",))
    words = (f"{counted(done, 'provider deletion')} done, {left} still pending"
             + (f"; {error}, retried later" if error else ""))
    audit.record(db, actor=actor, action="erasure.batch", entity="erasure", entity_id=erasure_id,
                 detail=words)
    return words


def run_once(db: Database, now: datetime | None = None) -> str:
    """The worker's task: a bounded batch for each erasure whose provider deletions are due."""
    now = now or utcnow()
    reports = []
    for _ in range(_MAX_ERASURES_PER_STEP):
        tomb = privacy_store.claim_pending(db, now, now + _LEASE)
        if tomb is None:
            break
        reports.append(run_for(db, tomb["_id"], now=now))
    return "; ".join(r for r in reports if r)
