"""Letting a queued call through: a dial slot, then its budget, then the claim — all or nothing.

The launch page and the dispatcher admit calls the same way. The order matters: the slot is
taken first (it is cheap to give back and bounds how many reservations can be under way),
the budget reservation second (one conditional `$inc`, so the last dollar goes to one call),
the claim last; whatever was taken is given back when a later step fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from core import crypto
from core.agent.models import GlobalVoiceConfig
from core.calling import gate
from core.calling import store as call_store
from core.db import Database
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.people.phones import region_of
from core.usage import budget


@dataclass(frozen=True)
class Admission:
    """A claimed call, or why the call was not let through (`kind` is slot, budget or taken)."""

    call: Call | None
    reason: str = ""
    kind: str = ""
    # Worth trying again soon: a slot frees up, or calls in progress may end under their maximum.
    retry_soon: bool = False


def budget_precheck(db: Database, call_job_id: str, candidate: Candidate, *,
                    global_cfg: GlobalVoiceConfig, job_cfg: GlobalVoiceConfig) -> str:
    """Why a call of this job to this candidate would not fit the budget now ("" if it would)."""
    no_room = budget.precheck(db, job_id=call_job_id, global_cfg=global_cfg, job_cfg=job_cfg,
                              country=_country(candidate))
    return no_room.reason if no_room else ""


def _country(candidate: Candidate) -> str | None:
    return region_of(crypto.decrypt(candidate.phone))


def admit(db: Database, call: Call, candidate: Candidate, *, by: str, global_cfg: GlobalVoiceConfig,
          job_cfg: GlobalVoiceConfig, window: dict, max_wait: float,
          lease_owner: str | None = None) -> Admission:
    """Take a dial slot and the call's budget, then claim it; on any refusal nothing is kept."""
    country = _country(candidate)
    # A read first, so a month already spent does not use up a dial slot of the rate limit.
    no_room = budget.precheck(db, job_id=call.job_id, global_cfg=global_cfg, job_cfg=job_cfg,
                              country=country)
    if no_room is not None:
        return Admission(None, no_room.reason, "budget", retry_soon=no_room.may_free_up)
    slot = gate.acquire_slot(db, call.id, limits=gate.limits_for(global_cfg, job_cfg, call.job_id),
                             max_wait=max_wait)
    if not slot.granted:
        return Admission(None, slot.reason, "slot", retry_soon=True)
    held = budget.reserve(db, job_id=call.job_id, global_cfg=global_cfg, job_cfg=job_cfg,
                          country=country)
    if isinstance(held, budget.NoRoom):
        gate.release_slot(db, call.id)
        return Admission(None, held.reason, "budget", retry_soon=held.may_free_up or held.busy)
    claimed = call_store.claim(db, call.id, by=by, lease_owner=lease_owner, window=window,
                               slot_at=slot.at, budget=held.as_record())
    if claimed is None:  # canceled meanwhile, or our lease expired and someone else took it
        budget.unreserve(db, held)
        gate.release_slot(db, call.id)
        return Admission(None, "", "taken")
    return Admission(claimed)
