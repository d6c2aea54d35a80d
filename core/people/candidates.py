"""Candidates: add, edit, do-not-call, look-ups."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from core import audit, crypto, labels, timezones
from core.auth import Action, PermissionDenied, Role, User, require
from core.db import Database, new_id, utcnow
from core.documents.candidate import Candidate
from core.errors import UserError
from core.people import store
from core.people.models import CandidateProfile
from core.people.phones import PhoneNumberError, normalize_phone, valid_zone, zones_for
from core.people.places import PlaceError, normalize_place
from core.people.visibility import visible_all

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


def _clean_region(value: Any) -> str | None:
    try:
        return normalize_place(str(value or ""))
    except PlaceError as exc:
        raise CandidateError(str(exc)) from None


def consent_basis(consent: bool, source: str, by: str, now: Any) -> dict[str, Any]:
    """How, when and by whom consent was captured (or withdrawn: then the source says so)."""
    return {"consent_source": source if consent else f"withdrawn ({source})",
            "consent_at": now, "consent_by": by}


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


# An erased candidate who had asked not to be called leaves only a keyed hash of their number
# (core.privacy): every way a number comes in (add, edit, import, demo seed, test call) and every
# dial consults it, so that person is never called again.
ERASED_DO_NOT_CALL = ("This number is on the do-not-call list: the person it belonged to asked not "
                      "to be called and their data was erased. It cannot be added or called.")


def number_listed(db: Database, e164: str) -> bool:
    """True when this number belongs to an erased candidate who asked not to be called."""
    return bool(store.listed_do_not_call(db, crypto.phone_hashes(e164)))


def candidate_listed(db: Database, cand: Candidate) -> bool:
    """True when the candidate's number is on the erased do-not-call list (checked at launch and
    at each dial, besides the candidate's own do-not-call state)."""
    hashes = [cand.phone_hash] if cand.phone_hash else []
    try:
        phone = crypto.decrypt(cand.phone)
    except crypto.CryptoError:
        phone = None
    if phone:
        hashes += crypto.phone_hashes(phone)
    return bool(store.listed_do_not_call(db, hashes))


def _refuse_listed(db: Database, e164: str) -> None:
    if number_listed(db, e164):
        raise CandidateError(ERASED_DO_NOT_CALL)


# -- storage helpers -------------------------------------------------------------------------


def new_document(*, name: str, phone: str, email: str, timezone: str, consent: bool, notes: str,
                 job_ids: Iterable[str], source: str, actor: str, region: str | None = None,
                 consent_source: str | None = None, recording_consent: bool = False) -> dict[str, Any]:
    """A new candidate document from cleaned values (personal data encrypted when enabled);
    given consent records how it was captured (`consent_source`, else `source`), when and by whom."""
    now = utcnow()
    basis = consent_basis(True, consent_source or source, actor, now) if consent else {}
    return {
        "_id": new_id(),
        "name": crypto.encrypt(name),
        "name_tokens": crypto.name_tokens(name),
        "phone": crypto.encrypt(phone),
        "phone_hash": crypto.phone_hash(phone),
        "lookup_kid": crypto.lookup_key_id(),
        "phone_last4": phone[-4:],
        "email": crypto.encrypt(email) if email else "",
        "timezone": timezone,
        "consent": consent,
        "recording_consent": recording_consent,
        **basis,
        "region": region,
        "do_not_call": False,
        "job_ids": sorted(set(job_ids)),
        "notes": crypto.encrypt(notes) if notes else "",
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
    return _profile(store.find_by_phone_hash(db, crypto.phone_hashes(e164)))


# -- public API ------------------------------------------------------------------------------


def add_candidate(db: Database, actor: User, *, name: str, phone: str, email: str = "",
                  timezone: str = "", consent: bool = False, notes: str = "",
                  job_ids: Iterable[str] = (), region: str = "", via: str = "manual") -> CandidateProfile:
    """Add a candidate; a number already on file is refused with the existing candidate named."""
    require(actor, Action.MANAGE_JOBS)
    e164 = _clean_phone(phone)
    _refuse_listed(db, e164)
    doc = new_document(name=_clean_name(name), phone=e164, email=_clean_email(email),
                       timezone=_clean_timezone(timezone), consent=_clean_consent(consent),
                       notes=_clean_notes(notes), job_ids=_check_jobs(db, job_ids), source=via,
                       actor=actor.username, region=_clean_region(region))
    existing = store.find_by_phone_hash(db, crypto.phone_hashes(e164))
    if existing:
        raise CandidateError(f"This number already belongs to candidate {crypto.decrypt(existing.name)} "
                             f"(id {existing.id}); edit that candidate instead.")
    if not store.insert_candidate(db, doc):  # added by someone else a moment ago
        raise CandidateError("This number was just added as another candidate; "
                             "find it in the list and edit that one.")
    audit.record(db, actor=actor.username, action="candidate.create", entity="candidate",
                 entity_id=doc["_id"], changes={"job_ids": {"old": None, "new": doc["job_ids"]}})
    return CandidateProfile.of(Candidate.model_validate(doc))


def update_candidate(db: Database, actor: User, candidate_id: str, *, via: str = "manual",
                     **fields: Any) -> CandidateProfile:
    """Edit name, phone, email, time zone, place, consent, notes or jobs of a candidate; a
    change of consent records how (`via`), when and by whom."""
    require(actor, Action.MANAGE_JOBS)
    old = store.get_candidate(db, candidate_id)
    if old is None:
        raise CandidateError("That candidate does not exist.")
    new: dict[str, Any] = {}
    changed: dict[str, dict[str, Any]] = {}
    current = CandidateProfile.of(old)
    plain: dict[str, Any] = {}  # new personal values in clear, for the comparison below
    if "name" in fields:
        plain["name"] = _clean_name(fields["name"])
        if plain["name"] != current.name:
            new.update(name=crypto.encrypt(plain["name"]), name_tokens=crypto.name_tokens(plain["name"]))
    if "phone" in fields:
        e164 = _clean_phone(fields["phone"])
        if e164 != current.phone:
            _refuse_listed(db, e164)
            clash = store.find_by_phone_hash(db, crypto.phone_hashes(e164), other_than=old.id)
            if clash:
                raise CandidateError("This number already belongs to candidate "
                                     f"{crypto.decrypt(clash.name)}.")
            new.update(phone=crypto.encrypt(e164), phone_hash=crypto.phone_hash(e164),
                       lookup_kid=crypto.lookup_key_id(), phone_last4=e164[-4:])
            changed["phone"] = {"old": "…" + str(old.phone_last4 or ""),
                                "new": "…" + e164[-4:]}  # never the number itself
    if "email" in fields:
        email = _clean_email(fields["email"])
        if email != current.email:
            new["email"] = crypto.encrypt(email) if email else ""
            changed["email"] = {"old": "(hidden)", "new": "(hidden)"}
    if "timezone" in fields:
        new["timezone"] = _clean_timezone(fields["timezone"])
    if "consent" in fields:
        new["consent"] = _clean_consent(fields["consent"])
        if new["consent"] != old.consent:
            new.update(consent_basis(new["consent"], via, actor.username, utcnow()))
    if "recording_consent" in fields:
        new["recording_consent"] = _clean_consent(fields["recording_consent"])
    if "region" in fields:
        new["region"] = _clean_region(fields["region"])
    if "notes" in fields:
        plain["notes"] = _clean_notes(fields["notes"])
        if plain["notes"] != current.notes:
            new["notes"] = crypto.encrypt(plain["notes"]) if plain["notes"] else ""
    if "job_ids" in fields:
        new["job_ids"] = _check_jobs(db, fields["job_ids"])
    stored = old.model_dump()
    for key in ("timezone", "region", "consent", "recording_consent", "job_ids"):
        if key in new and new[key] != stored.get(key):
            changed[key] = {"old": stored.get(key), "new": new[key]}
    for key in ("name", "notes"):
        # Like email and phone: the audit says that the personal text changed, never the text
        # (it would be a plaintext copy at rest, outside encryption and rotation).
        if key in new:
            changed[key] = {"old": "(hidden)", "new": "(hidden)"}
    if changed:
        store.update_candidate(db, old.id, new)
        audit.record(db, actor=actor.username, action="candidate.update", entity="candidate",
                     entity_id=old.id, changes=changed)
    return get_candidate(db, old.id) or CandidateProfile.of(old)


def set_do_not_call(db: Database, actor: User, candidate_id: str, do_not_call: bool,
                    reason: str = "") -> None:
    """Put a candidate on the do-not-call list by hand, or lift a list entry set by hand.

    What the candidate asked for on a call is lifted only by `lift_spoken_do_not_call`.
    """
    require(actor, Action.MANAGE_JOBS)
    reason = reason.strip()[:500]
    cand = store.get_candidate(db, candidate_id)
    if cand is None:
        raise CandidateError("That candidate does not exist.")
    if do_not_call:
        if cand.do_not_call_call_id:
            return  # already on the list, by the candidate's own request (which stays theirs)
        if not store.set_do_not_call_by_hand(db, cand.id, by=actor.username,
                                             reason=reason or f"set by {actor.username}"):
            raise CandidateError("The do-not-call state changed meanwhile; reload the page and check it.")
        audit.record(db, actor=actor.username, action="candidate.do_not_call", entity="candidate",
                     entity_id=cand.id, changes={"do_not_call": {"old": cand.do_not_call, "new": True}},
                     detail=reason or None)
        return
    if not cand.do_not_call:
        return
    if cand.do_not_call_call_id:
        raise CandidateError(
            f"The candidate asked on call {cand.do_not_call_call_id} not to be called again. Only an "
            "admin can lift that, confirming the call and giving a reason.")
    if not store.lift_do_not_call(db, cand.id, spoken_on=None, by=actor.username, reason=reason):
        raise CandidateError("The do-not-call state changed meanwhile; reload the page and check it.")
    audit.record(db, actor=actor.username, action="candidate.do_not_call_lifted", entity="candidate",
                 entity_id=cand.id, changes={"do_not_call": {"old": True, "new": False}},
                 detail=reason or None)


_MIN_LIFT_REASON = 10


def lift_spoken_do_not_call(db: Database, actor: User, candidate_id: str, *, call_id: str,
                            reason: str) -> None:
    """Lift the do-not-call a candidate asked for on call `call_id`: admins only, confirming that
    call, with a reason; audited."""
    require(actor, Action.MANAGE_JOBS)
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("Only an admin may lift a do-not-call the candidate asked for on a call.")
    reason = " ".join(reason.split())[:500]
    if len(reason) < _MIN_LIFT_REASON:
        raise CandidateError(f"Say why the candidate may be called again (at least "
                             f"{_MIN_LIFT_REASON} characters).")
    cand = store.get_candidate(db, candidate_id)
    if cand is None:
        raise CandidateError("That candidate does not exist.")
    if not cand.do_not_call or not cand.do_not_call_call_id:
        raise CandidateError("This candidate has no do-not-call request from a call to lift.")
    if cand.do_not_call_call_id != call_id:
        raise CandidateError(f"The candidate asked on call {cand.do_not_call_call_id}, not on "
                             f"call {call_id}; confirm the call where they asked.")
    if not store.lift_do_not_call(db, cand.id, spoken_on=call_id, by=actor.username, reason=reason):
        raise CandidateError("The do-not-call state changed meanwhile; reload the page and check it.")
    audit.record(db, actor=actor.username, action="candidate.do_not_call_lifted", entity="candidate",
                 entity_id=cand.id, changes={"do_not_call": {"old": True, "new": False}},
                 detail=f"the candidate's own request on call {call_id} lifted: {reason}")


def lift_human_request(db: Database, actor: User, candidate_id: str, job_id: str, reason: str) -> None:
    """Allow AI calls for a job again after the candidate asked on a call for a person
    (recruiters and admins), with a reason; audited."""
    require(actor, Action.MANAGE_JOBS)
    reason = " ".join((reason or "").split())[:500]
    if len(reason) < _MIN_LIFT_REASON:
        raise CandidateError(f"Say why the AI may call this candidate again for this job (at least "
                             f"{_MIN_LIFT_REASON} characters).")
    cand = store.get_candidate(db, str(candidate_id))
    if cand is None:
        raise CandidateError("That candidate does not exist.")
    if str(job_id) not in (cand.human_requested or {}):
        raise CandidateError("The candidate has no request for a person for that job.")
    if not store.lift_human_requested(db, cand.id, str(job_id)):
        raise CandidateError("The request changed meanwhile; reload the page and check it.")
    audit.record(db, actor=actor.username, action="candidate.human_request_lifted", entity="candidate",
                 entity_id=cand.id, changes={"human_requested": {"old": str(job_id), "new": None}},
                 detail=f"AI calls allowed again for job {job_id}: {reason}")


def get_candidate(db: Database, candidate_id: str) -> CandidateProfile | None:
    """One candidate by id, personal data decrypted (internal: pages go through `visible`)."""
    return _profile(store.get_candidate(db, candidate_id))


def list_candidates(db: Database, user: User | None, *, job_id: str | None = None, search: str = "",
                    limit: int = 500) -> list[CandidateProfile]:
    """Candidates (of a job, or whose name has a word starting with each typed word), as the
    user may see them, sorted by name; the newest `limit` of them."""
    tokens = crypto.name_query_tokens(search)
    docs = store.list_candidates(db, job_id=job_id, name_tokens=tokens,
                                 legacy_words=search.lower().split(), limit=limit)
    profiles = sorted((CandidateProfile.of(d) for d in docs), key=lambda p: (p.name.casefold(), p.id))
    return visible_all(profiles, user)


def upsert_demo_candidate(db: Database, *, name: str, phone: str, job_id: str,
                          timezone: str = "") -> CandidateProfile:
    """Find-or-create a candidate by number and attach the job (seed data; runs twice safely)."""
    doc = new_document(name=_clean_name(name), phone=_clean_phone(phone), email="", timezone=timezone,
                       consent=True, notes="demo candidate (sandbox outcome by number)", job_ids=[],
                       source="demo", actor="seed-demo")
    hashes = crypto.phone_hashes(_clean_phone(phone))
    _refuse_listed(db, _clean_phone(phone))
    return CandidateProfile.of(store.upsert_by_phone(db, doc, job_id, hashes))


def own_number_contact(db: Database, actor: User, *, phone: str) -> CandidateProfile:
    """The record behind a team member's test call to their own number (found or made).

    A candidate's number is refused, changing nothing: a test call skips calling hours and the
    candidate's own consent, so it must never reach a candidate. The record is no candidate
    either: no job, not in any candidate list, found by no number lookup.
    """
    require(actor, Action.LAUNCH_CALLS)
    e164 = _clean_phone(phone)
    _refuse_listed(db, e164)
    if store.find_by_phone_hash(db, crypto.phone_hashes(e164)) is not None:
        raise CandidateError("This number belongs to a candidate. A test call goes to your own "
                             "number only; to call a candidate, use Launch calls.")
    # One record per team member and number (so a double click finds the same one); the keyed
    # phone hash keeps the number out of the id.
    key = f"{actor.username}\n{crypto.phone_hash(e164)}".encode()
    contact_id = "test-" + hashlib.sha256(key).hexdigest()[:24]
    doc = new_document(name=f"Test call ({actor.name})", phone=e164, email="", timezone="",
                       consent=True, notes="", job_ids=[], source="test", actor=actor.username)
    doc.update(_id=contact_id, test_contact=True, name_tokens=[],
               phone_hash=f"test-contact:{contact_id}")  # a placeholder no lookup produces
    return CandidateProfile.of(store.upsert_test_contact(db, doc))


def consent_words(candidate: CandidateProfile) -> str:
    """How the candidate's consent was captured, in words ("not recorded" for older records)."""
    if not candidate.consent_source:
        return "How consent was captured: not recorded."
    source = candidate.consent_source
    withdrawn = source.startswith("withdrawn (")
    how = labels.label(labels.Kind.CONSENT_SOURCE, source[len("withdrawn ("):-1] if withdrawn else source)
    when = f", {timezones.readable(candidate.consent_at, timezones.UTC_NAME)}" if candidate.consent_at else ""
    by = f", by {candidate.consent_by}" if candidate.consent_by else ""
    return f"{'Consent withdrawn' if withdrawn else 'Consent captured'}: {how}{when}{by}."


def label(candidate: CandidateProfile) -> str:
    """How pickers name a candidate: name, last four digits, and why they may not be called."""
    return (f"{candidate.name} (…{candidate.phone[-4:]})"
            + (" · do not call" if candidate.do_not_call else "")
            + ("" if candidate.consent else " · no consent"))
