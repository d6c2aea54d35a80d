"""Candidates: add, edit, do-not-call, look-ups."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from core import audit, crypto
from core.auth import Action, User, require
from core.calling.hours import valid_zone, zones_for
from core.db import CANDIDATES, JOBS, new_id, utcnow
from core.errors import UserError
from core.people.phones import PhoneNumberError, normalize_phone

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


def _public(doc: dict | None) -> dict | None:
    """A candidate document with PII decrypted and internal fields dropped."""
    if doc is None:
        return None
    out = {k: v for k, v in doc.items() if k not in ("phone_hash", "name_lower")}
    out["id"] = doc["_id"]
    out["phone"] = crypto.decrypt(doc.get("phone"))
    out["email"] = crypto.decrypt(doc.get("email")) or ""
    out.setdefault("job_ids", [])
    out.setdefault("do_not_call", False)
    out.setdefault("consent", False)
    return out


def _new_doc(*, name: str, phone: str, email: str, timezone: str, consent: bool, notes: str,
             job_ids: Iterable[str], source: str, actor: str) -> dict:
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


def _check_jobs(db: Database, job_ids: Iterable[str]) -> list[str]:
    ids = sorted({str(j) for j in job_ids if j})
    if ids:
        found = {d["_id"] for d in db[JOBS].find({"_id": {"$in": ids}}, {"_id": 1})}
        missing = [j for j in ids if j not in found]
        if missing:
            raise CandidateError("Unknown job: " + ", ".join(missing))
    return ids


def find_by_phone(db: Database, phone: str) -> dict | None:
    """The candidate with this number (any format), or None."""
    try:
        e164 = normalize_phone(phone)
    except PhoneNumberError:
        return None
    return _public(db[CANDIDATES].find_one({"phone_hash": crypto.phone_hash(e164)}))


# -- public API ------------------------------------------------------------------------------


def add_candidate(db: Database, actor: User, *, name: str, phone: str, email: str = "",
                  timezone: str = "", consent: bool = False, notes: str = "",
                  job_ids: Iterable[str] = ()) -> dict:
    """Add a candidate; a number already on file is refused with the existing candidate named."""
    require(actor, Action.MANAGE_JOBS)
    e164 = _clean_phone(phone)
    doc = _new_doc(name=_clean_name(name), phone=e164, email=_clean_email(email),
                   timezone=_clean_timezone(timezone), consent=_clean_consent(consent),
                   notes=_clean_notes(notes), job_ids=_check_jobs(db, job_ids), source="manual",
                   actor=actor.username)
    existing = db[CANDIDATES].find_one({"phone_hash": doc["phone_hash"]}, {"name": 1})
    if existing:
        raise CandidateError(f"This number already belongs to candidate {existing['name']} "
                             f"(id {existing['_id']}); edit that candidate instead.")
    try:
        db[CANDIDATES].insert_one(doc)
    except DuplicateKeyError:  # added by someone else a moment ago (unique phone_hash index)
        raise CandidateError("This number was just added as another candidate; "
                             "find it in the list and edit that one.") from None
    audit.record(db, actor=actor.username, action="candidate.create", entity="candidate",
                 entity_id=doc["_id"], changes={"job_ids": {"old": None, "new": doc["job_ids"]}})
    return _public(doc)  # type: ignore[return-value]


def update_candidate(db: Database, actor: User, candidate_id: str, **fields: Any) -> dict:
    """Edit name, phone, email, time zone, consent, notes or jobs of a candidate."""
    require(actor, Action.MANAGE_JOBS)
    old = db[CANDIDATES].find_one({"_id": str(candidate_id)})
    if old is None:
        raise CandidateError("That candidate does not exist.")
    new: dict[str, Any] = {}
    changed: dict[str, dict[str, Any]] = {}
    if "name" in fields:
        new["name"] = _clean_name(fields["name"])
        new["name_lower"] = new["name"].lower()
    if "phone" in fields:
        e164 = _clean_phone(fields["phone"])
        if crypto.phone_hash(e164) != old.get("phone_hash"):
            clash = db[CANDIDATES].find_one({"phone_hash": crypto.phone_hash(e164),
                                             "_id": {"$ne": old["_id"]}}, {"name": 1})
            if clash:
                raise CandidateError(f"This number already belongs to candidate {clash['name']}.")
            new.update(phone=crypto.encrypt(e164), phone_hash=crypto.phone_hash(e164),
                       phone_last4=e164[-4:])
            changed["phone"] = {"old": "…" + str(old.get("phone_last4", "")),
                                "new": "…" + e164[-4:]}  # never the number itself
    if "email" in fields:
        email = _clean_email(fields["email"])
        if email != (crypto.decrypt(old.get("email")) or ""):
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
    for key in ("name", "timezone", "consent", "notes", "job_ids"):
        if key in new and new[key] != old.get(key):
            changed[key] = {"old": old.get(key), "new": new[key]}
    if changed:
        db[CANDIDATES].update_one({"_id": old["_id"]}, {"$set": {**new, "updated_at": utcnow()}})
        audit.record(db, actor=actor.username, action="candidate.update", entity="candidate",
                     entity_id=old["_id"], changes=changed)
    return get_candidate(db, old["_id"]) or _public(old)  # type: ignore[return-value]


def set_do_not_call(db: Database, actor: User, candidate_id: str, do_not_call: bool,
                    reason: str = "") -> None:
    """Mark a candidate never to be called again (or lift it, deliberately and audited)."""
    require(actor, Action.MANAGE_JOBS)
    update: dict[str, Any] = {"do_not_call": bool(do_not_call), "updated_at": utcnow()}
    if do_not_call:
        update.update(do_not_call_at=utcnow(), do_not_call_reason=reason.strip()[:500] or
                      f"set by {actor.username}")
    result = db[CANDIDATES].update_one({"_id": str(candidate_id)}, {"$set": update})
    if result.matched_count == 0:
        raise CandidateError("That candidate does not exist.")
    audit.record(db, actor=actor.username, action="candidate.do_not_call" if do_not_call
                 else "candidate.do_not_call_lifted", entity="candidate",
                 entity_id=str(candidate_id), detail=reason.strip()[:500] or None)


def get_candidate(db: Database, candidate_id: str) -> dict | None:
    """One candidate by id, PII decrypted."""
    return _public(db[CANDIDATES].find_one({"_id": str(candidate_id)}))


def list_candidates(db: Database, *, job_id: str | None = None, search: str = "",
                    limit: int = 500) -> list[dict]:
    """Candidates (of a job, or matching a name prefix), by name; bounded by `limit`."""
    query: dict[str, Any] = {}
    if job_id:
        query["job_ids"] = str(job_id)
    if search.strip():
        query["name_lower"] = {"$regex": "^" + re.escape(search.strip().lower())}
    docs = db[CANDIDATES].find(query).sort("name_lower", 1).limit(max(1, min(limit, 5000)))
    return [_public(d) for d in docs]  # type: ignore[misc]


def _upsert_by_phone(db: Database, doc: dict, job_id: str) -> dict:
    """Find the candidate with this number or insert `doc`; either way attach the job."""
    doc = {k: v for k, v in doc.items() if k != "job_ids"}
    found = db[CANDIDATES].find_one_and_update(
        {"phone_hash": doc["phone_hash"]},
        {"$setOnInsert": doc, "$addToSet": {"job_ids": str(job_id)}},
        upsert=True, return_document=True,
    )
    return _public(found)  # type: ignore[return-value]


def upsert_demo_candidate(db: Database, *, name: str, phone: str, job_id: str,
                          timezone: str = "") -> dict:
    """Find-or-create a candidate by number and attach the job (seed data; runs twice safely)."""
    doc = _new_doc(name=_clean_name(name), phone=_clean_phone(phone), email="", timezone=timezone,
                   consent=True, notes="demo candidate (sandbox outcome by number)", job_ids=[],
                   source="demo", actor="seed-demo")
    return _upsert_by_phone(db, doc, job_id)


def upsert_test_candidate(db: Database, actor: User, *, phone: str, job_id: str) -> dict:
    """The candidate record behind a recruiter's test call to their own number (found or made)."""
    require(actor, Action.LAUNCH_CALLS)
    doc = _new_doc(name=f"Test call ({actor.name})", phone=_clean_phone(phone), email="",
                   timezone="", consent=True, notes="a team member's own number, used for test calls",
                   job_ids=[], source="test", actor=actor.username)
    return _upsert_by_phone(db, doc, job_id)
