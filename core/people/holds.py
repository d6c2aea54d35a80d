"""Legal hold on a candidate or a job: while it is set, no purge (and no erasure) touches the
candidate's or the job's calls. Only an admin places or lifts one, with a reason; both are audited."""

from __future__ import annotations

from typing import Any, Literal

from core import audit
from core.auth import Action, User, require
from core.db import CANDIDATES, JOBS, Database, utcnow
from core.errors import UserError
from core.people import store

Kind = Literal["candidate", "job"]
_COLLECTION: dict[str, str] = {"candidate": CANDIDATES, "job": JOBS}
_MAX_REASON = 500


class HoldError(UserError, ValueError):
    """Bad legal-hold input; the message is shown to the user and nothing changed."""


def _collection(kind: str) -> str:
    if kind not in _COLLECTION:
        raise HoldError("A legal hold is placed on a candidate or on a job.")
    return _COLLECTION[kind]


def _reason(reason: str) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        raise HoldError("Say why the hold is placed or lifted (for example the case it is for).")
    if len(text) > _MAX_REASON:
        raise HoldError(f"The reason is too long (at most {_MAX_REASON} characters).")
    return text


def place_hold(db: Database, actor: User, kind: Kind, entity_id: str, reason: str) -> dict[str, Any]:
    """Put a candidate or a job on legal hold (admin, reason required); returns the hold."""
    require(actor, Action.MANAGE_LEGAL_HOLDS)
    collection = _collection(kind)
    text = _reason(reason)
    if store.legal_hold_of(db, collection, entity_id) is not None:
        raise HoldError(f"That {kind} is already on legal hold.")
    hold = {"reason": text, "by": actor.username, "at": utcnow()}
    if not store.set_legal_hold(db, collection, entity_id, hold):
        raise HoldError(f"That {kind} does not exist.")
    audit.record(db, actor=actor.username, action="legal_hold.place", entity=kind, entity_id=entity_id,
                 changes={"legal_hold": {"old": None, "new": "on"}}, detail=f"reason: {text}")
    return hold


def lift_hold(db: Database, actor: User, kind: Kind, entity_id: str, reason: str) -> None:
    """Lift a candidate's or a job's legal hold (admin, reason required); purges resume."""
    require(actor, Action.MANAGE_LEGAL_HOLDS)
    collection = _collection(kind)
    text = _reason(reason)
    if store.legal_hold_of(db, collection, entity_id) is None:
        raise HoldError(f"That {kind} is not on legal hold.")
    store.set_legal_hold(db, collection, entity_id, None)
    audit.record(db, actor=actor.username, action="legal_hold.lift", entity=kind, entity_id=entity_id,
                 changes={"legal_hold": {"old": "on", "new": None}}, detail=f"reason: {text}")


def hold_of(db: Database, kind: Kind, entity_id: str) -> dict[str, Any] | None:
    """The hold on a candidate or job ({"reason", "by", "at"}), or None."""
    return store.legal_hold_of(db, _collection(kind), entity_id)


def is_held(db: Database, *, candidate_id: str | None = None, job_id: str | None = None) -> bool:
    """True when the candidate or the job (either given) is on legal hold."""
    return bool((candidate_id and hold_of(db, "candidate", candidate_id))
                or (job_id and hold_of(db, "job", job_id)))


def held_candidate_ids(db: Database) -> list[str]:
    """Candidates on legal hold now (the purges leave their calls alone)."""
    return store.held_ids(db, CANDIDATES)


def held_job_ids(db: Database) -> list[str]:
    """Jobs on legal hold now (the purges leave their calls alone)."""
    return store.held_ids(db, JOBS)
