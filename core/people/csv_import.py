"""CSV import of candidates into a job: preview, then commit."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from core import audit, crypto, labels
from core.auth import Action, User, require
from core.db import Database
from core.errors import UserError
from core.people import store
from core.people.candidates import (
    _MAX_NAME,
    ERASED_DO_NOT_CALL,
    CandidateError,
    _clean_consent,
    _clean_email,
    _clean_name,
    _clean_notes,
    _clean_phone,
    _clean_region,
    _clean_timezone,
    describe_zone,
    new_document,
)
from core.people.models import ImportReport, ImportResult, ImportRow

MAX_IMPORT_ROWS = 10_000  # one file; a bigger list is split so the preview stays readable
MAX_IMPORT_BYTES = 5 * 1024 * 1024
# Accepted header spellings (lower-cased, spaces and dashes read as "_").
_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full_name", "candidate", "candidate_name"),
    "phone": ("phone", "phone_number", "mobile", "telephone", "number"),
    "email": ("email", "e_mail", "email_address"),
    "timezone": ("timezone", "time_zone", "tz"),
    "consent": ("consent", "consented", "consent_to_call"),
    # Where the candidate lives (a US state or a country), for the laws that follow them.
    "region": ("state", "region", "country", "province"),
    # Optional: consent to the recording given in advance (no question on the call).
    "recording_consent": ("recording_consent", "consent_to_record", "consent_to_recording"),
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
            f"Missing {'column' if len(missing) == 1 else 'columns'}: {', '.join(missing)}. Found: {shown}. "
            "Expected a header row "
            "with name, phone and optionally email, timezone, state, consent, recording_consent, notes."
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


def preview_import(db: Database, job_id: str, file_bytes: bytes) -> ImportReport:
    """Check a CSV without saving: each row accepted, rejected (with why) or a duplicate.

    Raises ImportFileError when the file as a whole cannot be used.
    """
    job = store.get_job(db, job_id)
    if job is None:
        raise ImportFileError("That job does not exist.")
    if not job.takes_calls:
        stage = "archived" if job.archived else "closed"
        raise ImportFileError(f"That job is {stage}; reopen it before importing candidates.")
    columns, ignored, width, raw_rows = _read_rows(_decode(file_bytes))

    parsed: list[ImportRow] = []
    for line, values in raw_rows:
        get = {f: (values[i].strip() if i < len(values) else "") for f, i in columns.items()}
        row = ImportRow(line=line, name=get.get("name", "")[:_MAX_NAME],
                        input_phone=get.get("phone", "")[:40])
        problems: list[str] = []
        if len(values) > width:
            problems.append(f"the row has {len(values)} fields but the header has {width}")
        clean: dict[str, Any] = {}
        for field, cleaner in (("name", _clean_name), ("phone", _clean_phone),
                               ("email", _clean_email), ("timezone", _clean_timezone),
                               ("region", _clean_region), ("consent", _clean_consent),
                               ("recording_consent", _clean_consent),
                               ("notes", _clean_notes)):
            try:
                clean[field] = cleaner(get.get(field, ""))
            except CandidateError as exc:
                problems.append(str(exc).rstrip("."))
        if problems:
            row.reason = "; ".join(problems) + "."
        else:
            for field, value in clean.items():
                setattr(row, field, value)
            row.status = "accepted"
        parsed.append(row)

    accepted = [r for r in parsed if r.status == "accepted"]
    # Every hash a stored candidate may carry (the old derivation too, until `reencrypt`).
    variants = {r.line: crypto.phone_hashes(r.phone) for r in accepted}
    existing = store.by_phone_hashes(db, (h for hashes in variants.values() for h in hashes))
    listed = store.listed_do_not_call(db, (h for hashes in variants.values() for h in hashes))
    seen: dict[str, int] = {}
    for row in accepted:
        h = variants[row.line][0]
        other = next((existing[v] for v in variants[row.line] if v in existing), None)
        if listed.intersection(variants[row.line]):
            row.status, row.reason = "rejected", ERASED_DO_NOT_CALL
        elif h in seen:
            row.status, row.reason = "duplicate", f"same number as line {seen[h]} of this file"
        elif other and str(job_id) in other.job_ids:
            row.status, row.existing_candidate_id = "duplicate", other.id
            row.reason = f"already a candidate of this job ({crypto.decrypt(other.name)})"
        elif other:
            row.action, row.existing_candidate_id = "attach", other.id
            row.note = f"existing candidate {crypto.decrypt(other.name)} will be added to this job"
            row.zone = describe_zone(other.timezone or "", row.phone)
        else:
            row.action = "new"
            row.zone = describe_zone(row.timezone, row.phone)
        seen.setdefault(h, row.line)
    counts = {s: sum(1 for r in parsed if r.status == s) for s in ("accepted", "rejected", "duplicate")}
    return ImportReport(job_id=str(job_id), job_title=job.title, total=len(parsed), **counts,
                        ignored_columns=ignored, rows=parsed)


def commit_import(db: Database, actor: User, job_id: str, file_bytes: bytes, *,
                  via: str = "import") -> ImportResult:
    """Save the accepted rows of a CSV (checked again, so the preview cannot go stale); `via`
    names how consent was captured ("import" from the dashboard, "cli" from the command line)."""
    require(actor, Action.MANAGE_JOBS)
    report = preview_import(db, job_id, file_bytes)
    new_docs = []
    attach_ids: list[str] = []
    for row in report.rows:
        if row.status != "accepted":
            continue
        if row.action == "attach" and row.existing_candidate_id:
            attach_ids.append(row.existing_candidate_id)
        else:
            new_docs.append(new_document(name=row.name, phone=row.phone, email=row.email,
                                         timezone=row.timezone, consent=row.consent, notes=row.notes,
                                         recording_consent=row.recording_consent,
                                         job_ids=[str(job_id)], source="import",
                                         actor=actor.username, region=row.region, consent_source=via))
    created = 0
    taken: set[str] = set()
    for start in range(0, len(new_docs), 1000):
        chunk_created, chunk_taken = store.insert_many_candidates(db, new_docs[start:start + 1000])
        created += chunk_created
        taken |= chunk_taken
    # A concurrent import created some of these numbers first (unique phone_hash): attach this
    # job to those candidates instead of creating twins.
    store.attach_job(db, str(job_id), candidate_ids=attach_ids, phone_hashes=sorted(taken))
    attached = len(attach_ids) + len(taken)
    audit.record(db, actor=actor.username, action="candidate.import", entity="job",
                 entity_id=str(job_id),
                 detail=f"{created} new, {attached} added from other jobs, "
                        f"{report.rejected} rejected, {report.duplicate} duplicate")
    return ImportResult(job_id=str(job_id), created=created, attached=attached,
                        rejected=report.rejected, duplicate=report.duplicate, total=report.total,
                        report=report)


def row_result(row: ImportRow, *, require_consent: bool) -> tuple[str, str]:
    """What happens to one row: a kind (new, attach, no_consent, duplicate, rejected) and its words."""
    if row.status == "duplicate":
        return "duplicate", "Duplicate in the file: skipped"
    if row.status != "accepted":
        return "rejected", "Rejected"
    if require_consent and not row.consent:
        return "no_consent", "Saved, but will never be called under the current settings (no consent)"
    if row.action == "new":
        return "new", "New candidate"
    return "attach", "Already on file: added to this job"


def import_summary(result: ImportResult, job_title: str, *, require_consent: bool) -> str:
    """The closing message of a saved import: what was added to the job, and who cannot be called."""
    added = (f"Added to {job_title}: {labels.counted(result.created, 'new candidate')} and "
             f"{result.attached} already on file.")
    skipped = result.rejected + result.duplicate
    if skipped:
        added += f" {labels.counted(skipped, 'row')} skipped (rejected or duplicate)."
    silent = [r.name for r in result.report.rows
              if r.status == "accepted" and require_consent and not r.consent]
    if silent:
        added += (f" {len(silent)} will never be called while consent is required: "
                  + ", ".join(silent[:5]) + (" …" if len(silent) > 5 else "") + ".")
    return added
