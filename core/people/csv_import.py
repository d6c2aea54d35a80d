"""CSV import of candidates into a job: preview, then commit."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from core import audit, crypto
from core.auth import Action, User, require
from core.db import CANDIDATES, JOBS, utcnow
from core.errors import UserError
from core.people.candidates import (
    _MAX_NAME,
    CandidateError,
    _clean_consent,
    _clean_email,
    _clean_name,
    _clean_notes,
    _clean_phone,
    _clean_timezone,
    _new_doc,
    describe_zone,
)

MAX_IMPORT_ROWS = 10_000  # one file; a bigger list is split so the preview stays readable
MAX_IMPORT_BYTES = 5 * 1024 * 1024
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


class ImportFileError(UserError, ValueError):
    """The uploaded file cannot be read as a candidate list; the message says why."""


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
