"""Candidates: add, edit, do-not-call, look-ups."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from core import audit, crypto
from core.auth import Action, User, require
from core.db import Database, new_id, utcnow
from core.documents.candidate import Candidate
from core.errors import UserError
from core.people import store
from core.people.models import CandidateProfile
from core.people.phones import PhoneNumberError, normalize_phone, valid_zone, zones_for

_MAX_NAME = 200
_MAX_NOTES = 2000
_MAX_EMAIL = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = {"yes", "y", "true", "1", "x", "consented", "consent"}
_FALSE = {"no", "n", "false", "0", ""}


class CandidateError(UserError, ValueError):
    """Bad candidate input; the message is shown to the user."""


# -- validation ------------------------------------------------------------------------------


def _clean_name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise CandidateError("The name is empty.")
    if len(name) > _MAX_NAME:
        raise CandidateError(f"The name is longer than {_MAX_NAME} characters.")
    return name


def _clean_email(value: Any) -> str:
    email = str(value or "").strip()
    if email and (len(email) > _MAX_EMAIL or not _EMAIL.match(email)):
        raise CandidateError("The email address is not valid.")
    return email


def _clean_timezone(value: Any) -> str:
    zone = str(value or "").strip()
    if zone and not valid_zone(zone):
        raise CandidateError(f"'{zone}' is not a known time zone (use an IANA name such as "
                             "America/New_York).")
    return zone


def _clean_consent(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CandidateError(f"Consent must be yes or no, not '{str(value)[:20]}'.")


def _clean_notes(value: Any) -> str:
    notes = str(value or "").strip()
    if len(notes) > _MAX_NOTES:
        raise CandidateError(f"The notes are longer than {_MAX_NOTES} characters.")
    return notes


def _clean_phone(value: Any) -> str:
    try:
        return normalize_phone(str(value or ""))
    except PhoneNumberError as exc:
        raise CandidateError(str(exc)) from None


def describe_zone(timezone: str, phone: str) -> str:
    """The time zone calls will use, in words (record, number, several zones or unknown)."""
    zones, source = zones_for(timezone, phone)
    if not zones:
        return "unknown: calls are held until a person sets the time zone"
    if source == "candidate":
        return zones[0]
    if len(zones) == 1:
        return f"{zones[0]} (from the number)"
    shown = ", ".join(zones[:4]) + (f" and {len(zones) - 4} more" if len(zones) > 4 else "")
    return f"several zones from the number: {shown} (all must be inside calling hours)"


# -- storage helpers -------------------------------------------------------------------------


def new_document(*, name: str, phone: str, email: str, timezone: str, consent: bool, notes: str,
                 job_ids: Iterable[str], source: str, actor: str) -> dict[str, Any]:
    """A new candidate document from cleaned values (personal data encrypted when enabled)."""
    now = utcnow()
    return {
        "_id": new_id(),
        "name": name,
        "name_lower": name.lower(),
        "phone": crypto.encrypt(phone),
        "phone_hash": crypto.phone_hash(phone),
        "phone_last4": phone[-4:],
        "email": crypto.encrypt(email) if email else "",
        "timezone": timezone,
        "consent": consent,
        "do_not_call": False,
        "job_ids": sorted(set(job_ids)),
        "notes": notes,
        "source": source,
        "created_by": actor,
        "created_at": now,
        "updated_at": now,
    }


def _profile(doc: Candidate | None) -> CandidateProfile | None:
    return None if doc is None else CandidateProfile.of(doc)


def _check_jobs(db: Database, job_ids: Iterable[str]) -> list[str]:
    ids = sorted({str(j) for j in job_ids if j})
    if ids:
        found = store.jobs_by_id(db, ids)
        missing = [j for j in ids if j not in found]
        if missing:
            raise CandidateError("Unknown job: " + ", ".join(missing))
    return ids


def find_by_phone(db: Database, phone: str) -> CandidateProfile | None:
    """The candidate with this number (any format), or None."""
    try:
        e164 = normalize_phone(phone)
    except PhoneNumberError:
        return None
    return _profile(store.find_by_phone_hash(db, crypto.phone_hash(e164)))


# -- public API ------------------------------------------------------------------------------


def add_candidate(db: Database, actor: User, *, name: str, phone: str, email: str = "",
                  timezone: str = "", consent: bool = False, notes: str = "",
                  job_ids: Iterable[str] = ()) -> CandidateProfile:
    """Add a candidate; a number already on file is refused with the existing candidate named."""
    require(actor, Action.MANAGE_JOBS)
    e164 = _clean_phone(phone)
    doc = new_document(name=_clean_name(name), phone=e164, email=_clean_email(email),
                       timezone=_clean_timezone(timezone), consent=_clean_consent(consent),
                       notes=_clean_notes(notes), job_ids=_check_jobs(db, job_ids), source="manual",
                       actor=actor.username)
    existing = store.find_by_phone_hash(db, doc["phone_hash"])
    if existing:
        raise CandidateError(f"This number already belongs to candidate {existing.name} "
                             f"(id {existing.id}); edit that candidate instead.")
    if not store.insert_candidate(db, doc):  # added by someone else a moment ago
        raise CandidateError("This number was just added as another candidate; "
                             "find it in the list and edit that one.")
    audit.record(db, actor=actor.username, action="candidate.create", entity="candidate",
                 entity_id=doc["_id"], changes={"job_ids": {"old": None, "new": doc["job_ids"]}})
    return CandidateProfile.of(Candidate.model_validate(doc))


def update_candidate(db: Database, actor: User, candidate_id: str, **fields: Any) -> CandidateProfile:
    """Edit name, phone, email, time zone, consent, notes or jobs of a candidate."""
    require(actor, Action.MANAGE_JOBS)
    old = store.get_candidate(db, candidate_id)
    if old is None:
        raise CandidateError("That candidate does not exist.")
    new: dict[str, Any] = {}
    changed: dict[str, dict[str, Any]] = {}
    if "name" in fields:
        new["name"] = _clean_name(fields["name"])
        new["name_lower"] = new["name"].lower()
    if "phone" in fields:
        e164 = _clean_phone(fields["phone"])
        if crypto.phone_hash(e164) != old.phone_hash:
            clash = store.find_by_phone_hash(db, crypto.phone_hash(e164), other_than=old.id)
            if clash:
                raise CandidateError(f"This number already belongs to candidate {clash.name}.")
            new.update(phone=crypto.encrypt(e164), phone_hash=crypto.phone_hash(e164),
                       phone_last4=e164[-4:])
            changed["phone"] = {"old": "…" + str(old.phone_last4 or ""),
                                "new": "…" + e164[-4:]}  # never the number itself
    if "email" in fields:
        email = _clean_email(fields["email"])
        if email != (crypto.decrypt(old.email) or ""):
            new["email"] = crypto.encrypt(email) if email else ""
            changed["email"] = {"old": "(hidden)", "new": "(hidden)"}
    if "timezone" in fields:
        new["timezone"] = _clean_timezone(fields["timezone"])
    if "consent" in fields:
        new["consent"] = _clean_consent(fields["consent"])
    if "notes" in fields:
        new["notes"] = _clean_notes(fields["notes"])
    if "job_ids" in fields:
        new["job_ids"] = _check_jobs(db, fields["job_ids"])
    stored = old.model_dump()
    for key in ("name", "timezone", "consent", "notes", "job_ids"):
        if key in new and new[key] != stored.get(key):
            changed[key] = {"old": stored.get(key), "new": new[key]}
    if changed:
        store.update_candidate(db, old.id, new)
        audit.record(db, actor=actor.username, action="candidate.update", entity="candidate",
                     entity_id=old.id, changes=changed)
    return get_candidate(db, old.id) or CandidateProfile.of(old)


def set_do_not_call(db: Database, actor: User, candidate_id: str, do_not_call: bool,
                    reason: str = "") -> None:
    """Mark a candidate never to be called again (or lift it, deliberately and audited)."""
    require(actor, Action.MANAGE_JOBS)
    update: dict[str, Any] = {"do_not_call": bool(do_not_call)}
    if do_not_call:
        update.update(do_not_call_at=utcnow(), do_not_call_reason=reason.strip()[:500] or
                      f"set by {actor.username}")
    if not store.update_candidate(db, candidate_id, update):
        raise CandidateError("That candidate does not exist.")
    audit.record(db, actor=actor.username, action="candidate.do_not_call" if do_not_call
                 else "candidate.do_not_call_lifted", entity="candidate",
                 entity_id=str(candidate_id), detail=reason.strip()[:500] or None)


def get_candidate(db: Database, candidate_id: str) -> CandidateProfile | None:
    """One candidate by id, personal data decrypted."""
    return _profile(store.get_candidate(db, candidate_id))


def list_candidates(db: Database, *, job_id: str | None = None, search: str = "",
                    limit: int = 500) -> list[CandidateProfile]:
    """Candidates (of a job, or matching a name prefix), by name; bounded by `limit`."""
    docs = store.list_candidates(db, job_id=job_id, name_prefix=search.strip(), limit=limit)
    return [CandidateProfile.of(d) for d in docs]


def upsert_demo_candidate(db: Database, *, name: str, phone: str, job_id: str,
                          timezone: str = "") -> CandidateProfile:
    """Find-or-create a candidate by number and attach the job (seed data; runs twice safely)."""
    doc = new_document(name=_clean_name(name), phone=_clean_phone(phone), email="", timezone=timezone,
                       consent=True, notes="demo candidate (sandbox outcome by number)", job_ids=[],
                       source="demo", actor="seed-demo")
    return CandidateProfile.of(store.upsert_by_phone(db, doc, job_id))


def upsert_test_candidate(db: Database, actor: User, *, phone: str, job_id: str) -> CandidateProfile:
    """The candidate record behind a recruiter's test call to their own number (found or made)."""
    require(actor, Action.LAUNCH_CALLS)
    doc = new_document(name=f"Test call ({actor.name})", phone=_clean_phone(phone), email="",
                       timezone="", consent=True,
                       notes="a team member's own number, used for test calls",
                       job_ids=[], source="test", actor=actor.username)
    return CandidateProfile.of(store.upsert_by_phone(db, doc, job_id))


def label(candidate: CandidateProfile) -> str:
    """How pickers name a candidate: name, last four digits, and why they may not be called."""
    return (f"{candidate.name} (…{candidate.phone[-4:]})"
            + (" · do not call" if candidate.do_not_call else "")
            + ("" if candidate.consent else " · no consent"))
