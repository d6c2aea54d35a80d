"""Candidates: add, edit, do-not-call, CSV import (preview, then commit) and the detail view."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from core import audit, crypto
from core.auth import Action, User, require
from core.calling_hours import valid_zone, zones_for
from core.db import CALLS, CANDIDATES, JOBS, new_id, utcnow
from core.telephony import PhoneNumberError, normalize_phone

MAX_IMPORT_ROWS = 10_000  # one file; a bigger list is split so the preview stays readable
MAX_IMPORT_BYTES = 5 * 1024 * 1024
_MAX_NAME = 200
_MAX_NOTES = 2000
_MAX_EMAIL = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE = {"yes", "y", "true", "1", "x", "consented", "consent"}
_FALSE = {"no", "n", "false", "0", ""}
# Accepted header spellings (lower-cased, spaces and dashes read as "_").
_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full_name", "candidate", "candidate_name"),
    "phone": ("phone", "phone_number", "mobile", "telephone", "number"),
    "email": ("email", "e_mail", "email_address"),
    "timezone": ("timezone", "time_zone", "tz"),
    "consent": ("consent", "consented", "consent_to_call"),
    "notes": ("notes", "note", "comments"),
}
_REQUIRED = ("name", "phone")
_DETAIL_CALL_LIMIT = 200  # a candidate has a handful of calls; the cap guards the page


class CandidateError(ValueError):
    """Bad candidate input; the message is shown to the user."""


class ImportFileError(ValueError):
    """The uploaded file cannot be read as a candidate list; the message says why."""


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


def candidate_detail(db: Database, candidate_id: str) -> dict | None:
    """Everything the candidate page shows: profile, do-not-call state, jobs, every call."""
    cand = get_candidate(db, candidate_id)
    if cand is None:
        return None
    jobs = {d["_id"]: d for d in db[JOBS].find({"_id": {"$in": cand["job_ids"]}})}
    calls = list(db[CALLS].find({"candidate_id": cand["id"]},
                                {"request_body": 0, "rendered_prompt": 0, "config_snapshot": 0})
                 .sort("created_at", -1).limit(_DETAIL_CALL_LIMIT))
    all_jobs = {**jobs, **{d["_id"]: d for d in db[JOBS].find(
        {"_id": {"$in": sorted({c["job_id"] for c in calls} - set(jobs))}})}}
    rows = []
    for c in calls:
        review = c.get("review") or {}
        rows.append({
            "id": c["_id"],
            "job_id": c.get("job_id"),
            "job": (all_jobs.get(c.get("job_id")) or {}).get("title", c.get("job_id")),
            "attempt": c.get("attempt", 1),
            "status": c.get("status"),
            "outcome": outcome_text(c),
            "created_at": c.get("created_at"),
            "ended_at": c.get("ended_at"),
            "decision": review.get("decision"),
            "batch_id": c.get("batch_id"),
        })
    return {
        "candidate": cand,
        "zone": describe_zone(cand.get("timezone", ""), cand["phone"]),
        "do_not_call": {
            "active": bool(cand.get("do_not_call")),
            "at": cand.get("do_not_call_at"),
            "reason": cand.get("do_not_call_reason")
            or ("asked on a call" if cand.get("do_not_call_call_id") else None),
            "call_id": cand.get("do_not_call_call_id"),
        },
        "jobs": [{"id": j, "title": (jobs.get(j) or {}).get("title", j),
                  "status": (jobs.get(j) or {}).get("status", "missing")} for j in cand["job_ids"]],
        "calls": rows,
    }


def outcome_text(call: dict) -> str:
    """One line saying how a call went (or why it is waiting)."""
    status = call.get("status")
    if call.get("opt_out"):
        return "candidate asked not to be called again"
    if status == "failed":
        return f"failed: {call.get('failure_reason') or call.get('end_reason') or 'unknown'}"
    if status == "queued" and call.get("hold_reason"):
        return f"held: {call['hold_reason']}"
    if status == "queued" and call.get("next_attempt_at"):
        return "queued"
    if status == "canceled" and call.get("failure_reason"):
        return f"canceled: {call['failure_reason']}"
    if status == "completed" and call.get("end_reason"):
        return f"completed ({call['end_reason']})"
    return str(status or "unknown").replace("_", " ")


# -- CSV import ------------------------------------------------------------------------------


def _decode(file_bytes: bytes) -> str:
    if not file_bytes or not file_bytes.strip():
        raise ImportFileError("The file is empty.")
    if len(file_bytes) > MAX_IMPORT_BYTES:
        raise ImportFileError(f"The file is {len(file_bytes) / 1_048_576:.1f} MB; the limit is "
                              f"{MAX_IMPORT_BYTES // 1_048_576} MB. Split it into smaller files.")
    if file_bytes[:4] == b"PK\x03\x04":
        raise ImportFileError("This looks like an Excel or zip file. Save it as "
                              "'CSV UTF-8 (comma delimited)' and upload that.")
    if file_bytes[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ImportFileError("The file is UTF-16 encoded. Save it as 'CSV UTF-8' and upload that.")
    if b"\x00" in file_bytes:
        raise ImportFileError("This is not a text file. Upload a CSV file.")
    try:
        return file_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"The file is not UTF-8 text (unreadable byte at position {exc.start}). "
            "Save it as 'CSV UTF-8' and upload it again."
        ) from None


def _header_map(header: list[str]) -> tuple[dict[str, int], list[str]]:
    found: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        key = re.sub(r"[\s\-]+", "_", raw.strip().lower())
        field = next((f for f, names in _COLUMNS.items() if key in names), None)
        if field is None:
            if raw.strip():
                ignored.append(raw.strip())
            continue
        if field in found:
            raise ImportFileError(f"The column '{raw.strip()}' appears twice (as {field}).")
        found[field] = index
    missing = [f for f in _REQUIRED if f not in found]
    if missing:
        shown = ", ".join(h.strip() for h in header if h.strip()) or "none"
        raise ImportFileError(
            f"Missing column(s): {', '.join(missing)}. Found: {shown}. Expected a header row "
            "with name, phone and optionally email, timezone, consent, notes."
        )
    return found, ignored


def _read_rows(text: str) -> tuple[dict[str, int], list[str], int, list[tuple[int, list[str]]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise ImportFileError("The file has no header row.")
        columns, ignored = _header_map(header)
        rows: list[tuple[int, list[str]]] = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # blank lines are not rows
            rows.append((reader.line_num, values))
            if len(rows) > MAX_IMPORT_ROWS:
                # Count the rest cheaply so the message gives the real size.
                total = len(rows) + sum(1 for v in reader if any(x.strip() for x in v))
                raise ImportFileError(f"The file has {total:,} rows; at most "
                                      f"{MAX_IMPORT_ROWS:,} can be imported at once. Split it.")
    except csv.Error as exc:
        raise ImportFileError(f"The file is not valid CSV (line {reader.line_num}: {exc}).") from None
    if not rows:
        raise ImportFileError("The file has a header but no candidate rows.")
    return columns, ignored, len(header), rows


def preview_import(db: Database, job_id: str, file_bytes: bytes) -> dict[str, Any]:
    """Check a CSV without saving: each row accepted, rejected (with why) or a duplicate.

    Raises ImportFileError when the file as a whole cannot be used.
    """
    job = db[JOBS].find_one({"_id": str(job_id)})
    if job is None:
        raise ImportFileError("That job does not exist.")
    if job.get("status") == "archived":
        raise ImportFileError("That job is archived; reopen it before importing candidates.")
    columns, ignored, width, raw_rows = _read_rows(_decode(file_bytes))

    parsed: list[dict[str, Any]] = []
    for line, values in raw_rows:
        row: dict[str, Any] = {"line": line, "name": "", "phone": "", "status": "rejected"}
        get = {f: (values[i].strip() if i < len(values) else "") for f, i in columns.items()}
        row["name"] = get.get("name", "")[:_MAX_NAME]
        row["input_phone"] = get.get("phone", "")[:40]
        problems: list[str] = []
        if len(values) > width:
            problems.append(f"the row has {len(values)} fields but the header has {width}")
        clean: dict[str, Any] = {}
        for field, cleaner in (("name", _clean_name), ("phone", _clean_phone),
                               ("email", _clean_email), ("timezone", _clean_timezone),
                               ("consent", _clean_consent), ("notes", _clean_notes)):
            try:
                clean[field] = cleaner(get.get(field, ""))
            except CandidateError as exc:
                problems.append(str(exc).rstrip("."))
        if problems:
            row["reason"] = "; ".join(problems) + "."
        else:
            row.update(clean)
            row["status"] = "accepted"
        parsed.append(row)

    accepted = [r for r in parsed if r["status"] == "accepted"]
    hashes = {crypto.phone_hash(r["phone"]) for r in accepted}
    existing: dict[str, dict] = {}
    hash_list = sorted(hashes)
    for start in range(0, len(hash_list), 1000):
        for d in db[CANDIDATES].find({"phone_hash": {"$in": hash_list[start:start + 1000]}},
                                     {"phone_hash": 1, "job_ids": 1, "name": 1, "timezone": 1}):
            existing[d["phone_hash"]] = d
    seen: dict[str, int] = {}
    for row in accepted:
        h = crypto.phone_hash(row["phone"])
        other = existing.get(h)
        if h in seen:
            row.update(status="duplicate", reason=f"same number as line {seen[h]} of this file")
        elif other and str(job_id) in other.get("job_ids", []):
            row.update(status="duplicate", existing_candidate_id=other["_id"],
                       reason=f"already a candidate of this job ({other['name']})")
        elif other:
            row.update(action="attach", existing_candidate_id=other["_id"],
                       note=f"existing candidate {other['name']} will be added to this job")
            row["zone"] = describe_zone(other.get("timezone", ""), row["phone"])
        else:
            row["action"] = "new"
            row["zone"] = describe_zone(row.get("timezone", ""), row["phone"])
        seen.setdefault(h, row["line"])
    counts = {s: sum(1 for r in parsed if r["status"] == s)
              for s in ("accepted", "rejected", "duplicate")}
    return {"job_id": str(job_id), "job_title": job.get("title"), "total": len(parsed),
            **counts, "ignored_columns": ignored, "rows": parsed}


def commit_import(db: Database, actor: User, job_id: str, file_bytes: bytes) -> dict[str, Any]:
    """Save the accepted rows of a CSV (checked again, so the preview cannot go stale)."""
    require(actor, Action.MANAGE_JOBS)
    report = preview_import(db, job_id, file_bytes)
    new_docs = []
    attach = []
    for row in report["rows"]:
        if row["status"] != "accepted":
            continue
        if row.get("action") == "attach":
            attach.append(UpdateOne({"_id": row["existing_candidate_id"]},
                                    {"$addToSet": {"job_ids": str(job_id)},
                                     "$set": {"updated_at": utcnow()}}))
        else:
            new_docs.append(_new_doc(name=row["name"], phone=row["phone"], email=row["email"],
                                     timezone=row["timezone"], consent=row["consent"],
                                     notes=row["notes"], job_ids=[str(job_id)], source="import",
                                     actor=actor.username))
    created = 0
    for start in range(0, len(new_docs), 1000):
        chunk = new_docs[start:start + 1000]
        try:
            created += len(db[CANDIDATES].insert_many(chunk, ordered=False).inserted_ids)
        except BulkWriteError as exc:
            # A concurrent import created some of these numbers first (unique phone_hash):
            # attach this job to those candidates instead of creating twins.
            created += exc.details.get("nInserted", 0)
            failed = {chunk[e["index"]]["phone_hash"] for e in exc.details.get("writeErrors", [])
                      if e.get("code") == 11000}
            attach.extend(UpdateOne({"phone_hash": h}, {"$addToSet": {"job_ids": str(job_id)},
                                                        "$set": {"updated_at": utcnow()}})
                          for h in failed)
            if len(failed) != len(exc.details.get("writeErrors", [])):
                raise
    if attach:
        db[CANDIDATES].bulk_write(attach, ordered=False)
    result = {"job_id": str(job_id), "created": created, "attached": len(attach),
              "rejected": report["rejected"], "duplicate": report["duplicate"],
              "total": report["total"], "report": report}
    audit.record(db, actor=actor.username, action="candidate.import", entity="job",
                 entity_id=str(job_id),
                 detail=f"{created} new, {len(attach)} added from other jobs, "
                        f"{report['rejected']} rejected, {report['duplicate']} duplicate")
    return result


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
