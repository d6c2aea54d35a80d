"""Erasure of one candidate: their personal data and call content go everywhere we keep them and
at the providers; a tombstone (`erasures`) keeps only the facts that prove it happened; a number
the candidate asked us never to call stays as a keyed hash, so it is never called again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import audit, crypto
from core.auth import Action, User, require
from core.db import Database, new_id, utcnow
from core.documents.status import OPEN_STATUSES
from core.errors import UserError
from core.labels import counted
from core.people import holds
from core.people import store as people_store
from core.privacy import privacy_store, provider_deletions
from core.review import retention_store

_MIN_REASON = 5
_MAX_REASON = 300


class ErasureRefused(UserError):
    """An erasure that must not happen (bad input, a legal hold, an open call); nothing changed."""


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure did: the tombstone as stored (no personal data in it)."""

    erasure_id: str
    tombstone: dict[str, Any]

    @property
    def pending_at_providers(self) -> bool:
        """True while some provider deletions are still to be done (the worker retries them)."""
        return self.tombstone.get("state") == "pending_providers"


def _plain(value: Any) -> str:
    try:
        return crypto.decrypt(value) or ""
    except crypto.CryptoError:
        return ""


def _normal(text: str) -> str:
    return " ".join(str(text or "").split()).casefold()


def _check_reason(reason: str, cand: dict[str, Any]) -> str:
    # The reason stays in the tombstone and the audit log, which outlive the candidate: it must
    # not carry the very data being erased.
    reason = " ".join(str(reason or "").split())
    if len(reason) < _MIN_REASON:
        raise ErasureRefused("Give the reason for the erasure (for example: the candidate's request "
                             "of 3 March, ticket 4411).")
    if len(reason) > _MAX_REASON:
        raise ErasureRefused(f"The reason is longer than {_MAX_REASON} characters.")
    words = set(crypto.name_words(reason))
    if any(len(w) >= 3 and w in words for w in crypto.name_words(_plain(cand.get("name")))):
        raise ErasureRefused("The reason must not name the candidate: it is kept after the erasure.")
    email = _plain(cand.get("email"))
    digits = re.sub(r"\D", "", reason)
    phone = re.sub(r"\D", "", _plain(cand.get("phone")))
    if (email and email.casefold() in reason.casefold()) or (len(phone) >= 7 and phone[-7:] in digits):
        raise ErasureRefused("The reason must not quote the candidate's number or email: it is kept "
                             "after the erasure.")
    return reason


def check_erasable(db: Database, cand: dict[str, Any], calls: list[dict[str, Any]]) -> None:
    """Refuse (ErasureRefused) while the candidate or one of their jobs is on legal hold, or while
    one of their calls is queued or live."""
    if holds.is_held(db, candidate_id=cand["_id"]):
        raise ErasureRefused("The candidate is on legal hold: nothing about them can be erased until "
                             "an admin lifts the hold.")
    job_ids = {*cand.get("job_ids", []), *(c.get("job_id") for c in calls)}
    held = [job_id for job_id in sorted(j for j in job_ids if j) if holds.is_held(db, job_id=job_id)]
    if held:
        names = privacy_store.job_titles(db, held)
        titles = ", ".join(names.get(job_id) or "untitled job" for job_id in held)
        raise ErasureRefused(f"A job of this candidate is on legal hold ({titles}): nothing about them "
                             "can be erased until an admin lifts the hold.")
    open_calls = [c for c in calls if c.get("status") in {s.value for s in OPEN_STATUSES}]
    if open_calls:
        queued = sum(1 for c in open_calls if c.get("status") == "queued")
        live = len(open_calls) - queued
        parts = ([f"{counted(queued, 'queued call')} — cancel them first"] if queued else []) + (
            [f"{counted(live, 'call')} in progress — wait until they end"] if live else [])
        raise ErasureRefused("The candidate has " + " and ".join(parts) + "; then erase again.")


def erase_candidate(db: Database, actor: User, candidate_id: str, *, reason: str, confirmed: bool,
                    typed_name: str | None = None, now: datetime | None = None) -> ErasureResult:
    """Erase one candidate (admin only). `confirmed` must be True, and `typed_name` (the dashboard's
    confirmation) must be the candidate's name when given. Refused, changing nothing, on bad input,
    under a legal hold or with a call queued or live."""
    require(actor, Action.ERASE_CANDIDATES)
    now = now or utcnow()
    cand = privacy_store.candidate_doc(db, candidate_id)
    done = privacy_store.erasure_of(db, str(candidate_id))
    if cand is None and (done is None or done.get("state") != "erasing"):
        if done is not None:
            raise ErasureRefused(f"That candidate was already erased on {done['erased_at']:%Y-%m-%d}.")
        raise ErasureRefused("That candidate does not exist.")
    if not confirmed:
        raise ErasureRefused("Confirm the erasure first: it cannot be undone.")
    if cand is None:  # an erasure cut short after the candidate document went: finish it
        return _finish(db, actor, done, privacy_store.calls_of(db, done["candidate_id"]), now)
    if typed_name is not None and _normal(typed_name) != _normal(_plain(cand.get("name"))):
        raise ErasureRefused("The name typed does not match the candidate's name; nothing was erased.")
    reason = _check_reason(reason, cand)
    calls = privacy_store.calls_of(db, cand["_id"])
    check_erasable(db, cand, calls)

    # A tombstone left by an erasure cut short (a crash) is completed, not doubled.
    tomb = privacy_store.erasure_of(db, cand["_id"]) or {
        "_id": new_id(), "candidate_id": cand["_id"], "state": "erasing", "erased_at": now,
        "erased_by": actor.username, "reason": reason, "removed": {},
        "do_not_call_kept": False, "providers": {"ultravox": {}, "twilio": {}},
        "pending": {"ultravox": [], "twilio": []},
    }
    # The do-not-call number goes in first: whatever happens next, that person is never called.
    phone = _plain(cand.get("phone"))
    if cand.get("do_not_call") and phone and not cand.get("test_contact"):
        people_store.keep_do_not_call_number(db, crypto.phone_hash(phone), lookup_kid=crypto.lookup_key_id(),
                                             erasure_id=tomb["_id"])
        tomb["do_not_call_kept"] = True
    pending = provider_deletions.provider_ids(calls)
    for provider, ids in pending.items():
        tomb["pending"][provider] = sorted(set(tomb["pending"].get(provider, [])) | set(ids))
    if privacy_store.get_erasure(db, tomb["_id"]) is None:
        privacy_store.insert_erasure(db, tomb)
    else:
        privacy_store.update_erasure(db, tomb["_id"], {"pending": tomb["pending"],
                                                       "do_not_call_kept": tomb["do_not_call_kept"]})

    return _finish(db, actor, {**tomb, "reason": tomb.get("reason") or reason}, calls, now, cand)


def _finish(db: Database, actor: User, tomb: dict[str, Any], calls: list[dict[str, Any]], now: datetime,
            cand: dict[str, Any] | None = None) -> ErasureResult:
    cand = cand or {"_id": tomb["candidate_id"]}
    reason = tomb["reason"]
    removed = _erase_locally(db, cand, calls, now)
    state = "pending_providers" if any(tomb["pending"].values()) else "done"
    fields: dict[str, Any] = {"state": state, "removed": removed, "local_done_at": utcnow(),
                              "providers_next_at": now, "provider_attempts": 0}
    privacy_store.update_erasure(db, tomb["_id"], fields)
    audit.record(db, actor=actor.username, action="candidate.erase", entity="erasure", entity_id=tomb["_id"],
                 detail=f"candidate {cand['_id']}: {counted(removed['calls'], 'call')}, "
                        f"{counted(removed['events'], 'event')}, "
                        f"{counted(removed['audit_entries'], 'audit entry', 'audit entries')} cleared; "
                        f"reason: {reason}")
    if state == "pending_providers":
        provider_deletions.run_for(db, tomb["_id"], now=now, actor=actor.username)
    return ErasureResult(tomb["_id"], privacy_store.get_erasure(db, tomb["_id"]) or tomb)


def _erase_locally(db: Database, cand: dict[str, Any], calls: list[dict[str, Any]],
                   now: datetime) -> dict[str, int]:
    counts = privacy_store.erase_calls(db, calls, now)
    counts["batches"] = privacy_store.scrub_batches(db, cand["_id"])
    counts["candidate"] = privacy_store.delete_candidate(db, cand["_id"])
    # A call placed in the moment between the check and the deletion of the candidate (a launch
    # racing the erasure) is erased too; with the candidate gone, no further call can be made.
    late = [c for c in privacy_store.calls_of(db, cand["_id"]) if not c.get("erased_at")]
    if late:
        more = privacy_store.erase_calls(db, late, now)
        counts = {k: counts.get(k, 0) + more.get(k, 0) for k in {*counts, *more}}
    counts["audit_entries"] = retention_store.scrub_candidate_audit(db, cand["_id"], calls + late, now)
    return counts


def erasure_state(db: Database, candidate_id: str) -> dict[str, Any] | None:
    """The tombstone of an erased candidate (None: never erased)."""
    return privacy_store.erasure_of(db, candidate_id)


def pending_erasures(db: Database) -> int:
    """How many erasures still wait for deletions at the providers."""
    return privacy_store.pending_count(db)
