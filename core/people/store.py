"""The `jobs` and `candidates` collections: every query of the people feature.

Named single-document operations and bounded read views; the services in `jobs.py`,
`candidates.py` and `csv_import.py` hold the rules. Other features read candidates and jobs
through the read functions here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from core.db import CANDIDATES, DO_NOT_CALL_NUMBERS, JOBS, insert_new, utcnow
from core.documents.candidate import Candidate
from core.documents.job import Job, JobStatus

_MAX_LIST = 5000  # the largest candidate list any caller asks for
# Test-call contacts (a team member's own number) are no candidates: every list leaves them out.
_CANDIDATES_ONLY: dict[str, Any] = {"test_contact": {"$ne": True}}
_HASH_CHUNK = 1000  # phone hashes per $in


# -- jobs ----------------------------------------------------------------------------------


def insert_job(db: Database, doc: dict[str, Any]) -> Job:
    """Store a new job document."""
    db[JOBS].insert_one(doc)
    return Job.model_validate(doc)


def update_job(db: Database, job_id: str, fields: dict[str, Any]) -> None:
    """Set fields of one job (and its `updated_at`)."""
    db[JOBS].update_one({"_id": job_id}, {"$set": {**fields, "updated_at": utcnow()}})


def set_job_status(db: Database, job_id: str, status: JobStatus, *, was: JobStatus | None = None,
                   now: Any = None) -> bool:
    """Move one job to a stage (only from `was`, when given); False when there is no such job or
    it is no longer at `was`. Closing stamps `closed_at`, archiving `archived_at`; reopening
    clears both (retention by job stage counts from them)."""
    now = now or utcnow()
    fields: dict[str, Any] = {"status": status.value, "updated_at": now}
    unset: dict[str, str] = {}
    if status == JobStatus.CLOSED:
        fields["closed_at"] = now
        unset["archived_at"] = ""
    elif status == JobStatus.ARCHIVED:
        fields["archived_at"] = now
    else:
        unset.update(closed_at="", archived_at="")
    query: dict[str, Any] = {"_id": job_id}
    if was is not None:
        query["status"] = was.value
    update: dict[str, Any] = {"$set": fields, **({"$unset": unset} if unset else {})}
    return db[JOBS].update_one(query, update).matched_count == 1


def get_job(db: Database, job_id: str) -> Job | None:
    """One job by id."""
    return Job.from_doc(db[JOBS].find_one({"_id": str(job_id)}))


def list_jobs(db: Database, *, include_archived: bool = False, include_closed: bool = False,
              limit: int = 500) -> list[Job]:
    """Jobs, newest first (bounded: the pickers show at most `limit`): open ones, and closed or
    archived ones when asked for (archived includes closed)."""
    stages = [JobStatus.OPEN.value, *([JobStatus.CLOSED.value] if include_closed else [])]
    query = {} if include_archived else {"status": {"$in": stages}}
    return [Job.model_validate(d) for d in db[JOBS].find(query).sort("created_at", -1).limit(limit)]


def jobs_by_id(db: Database, job_ids: Iterable[str]) -> dict[str, Job]:
    """The jobs with these ids (bounded by the list)."""
    ids = sorted({str(j) for j in job_ids if j})
    if not ids:
        return {}
    return {d["_id"]: Job.model_validate(d) for d in db[JOBS].find({"_id": {"$in": ids}})}


def _names(db: Database, collection: str, ids: Iterable[str], field: str) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    # Bounded by the ids asked for (a page of rows): at most one document each.
    docs = db[collection].find({"_id": {"$in": wanted}}, {field: 1}).limit(len(wanted))
    return {d["_id"]: str(d.get(field) or "") for d in docs}


def job_titles(db: Database, ids: Iterable[str]) -> dict[str, str]:
    """Job id → title, for a page of rows (deleted jobs are left out)."""
    return _names(db, JOBS, ids, "title")


def candidate_names(db: Database, ids: Iterable[str]) -> dict[str, str]:
    """Candidate id → name, for a page of rows (deleted candidates are left out)."""
    return _names(db, CANDIDATES, ids, "name")


# -- candidates ----------------------------------------------------------------------------


def get_candidate(db: Database, candidate_id: str) -> Candidate | None:
    """One candidate by id."""
    return Candidate.from_doc(db[CANDIDATES].find_one({"_id": str(candidate_id)}))


def find_by_phone_hash(db: Database, phone_hashes: list[str], *,
                       other_than: str | None = None) -> Candidate | None:
    """The candidate with one of this number's lookup hashes (optionally not `other_than`)."""
    query: dict[str, Any] = {"phone_hash": {"$in": list(phone_hashes)}}
    if other_than is not None:
        query["_id"] = {"$ne": other_than}
    return Candidate.from_doc(db[CANDIDATES].find_one(query))


def insert_candidate(db: Database, doc: dict[str, Any]) -> bool:
    """Store a new candidate; False when the number is already on file (unique phone_hash)."""
    return insert_new(db[CANDIDATES], doc)


def update_candidate(db: Database, candidate_id: str, fields: dict[str, Any]) -> bool:
    """Set fields of one candidate (and its `updated_at`); False when there is no such one."""
    result = db[CANDIDATES].update_one({"_id": str(candidate_id)},
                                       {"$set": {**fields, "updated_at": utcnow()}})
    return result.matched_count == 1


def _name_match(tokens: list[str], legacy_words: list[str]) -> dict[str, Any]:
    """Names with every search token; a candidate stored before search tokens existed (plain
    `name_lower`, until `reencrypt` runs) matches when each word starts one of its words."""
    by_tokens = {"name_tokens": {"$all": list(tokens)}}
    if not legacy_words:
        return by_tokens
    legacy = [{"name_lower": {"$regex": r"(^|[^\w])" + re.escape(w)}} for w in legacy_words]
    return {"$or": [by_tokens, {"$and": legacy}]}


def list_candidates(db: Database, *, job_id: str | None = None, name_tokens: list[str] | None = None,
                    legacy_words: list[str] | None = None, limit: int = 500) -> list[Candidate]:
    """Candidates of a job and/or whose name has every search token, newest first (bounded).

    Names may be encrypted, so the database cannot sort by them: callers sort the page.
    """
    query: dict[str, Any] = dict(_CANDIDATES_ONLY)
    if job_id:
        query["job_ids"] = str(job_id)
    if name_tokens:
        query.update(_name_match(name_tokens, legacy_words or []))
    cursor = db[CANDIDATES].find(query).sort([("created_at", -1), ("_id", -1)])
    return [Candidate.model_validate(d) for d in cursor.limit(max(1, min(limit, _MAX_LIST)))]


def candidates_of_job(db: Database, job_id: str, *, ids: list[str] | None = None,
                      limit: int) -> list[Candidate]:
    """The candidates of a job (or the listed ones of it), at most `limit` (in storage order)."""
    query: dict[str, Any] = {"job_ids": str(job_id), **_CANDIDATES_ONLY}
    if ids is not None:
        query["_id"] = {"$in": [str(c) for c in ids]}
    # What a batch decides with: the standing refusals and the calling-hours zone.
    projection = {"do_not_call": 1, "consent": 1, "name": 1, "human_requested": 1, "timezone": 1,
                  "phone": 1}
    return [Candidate.model_validate(d) for d in db[CANDIDATES].find(query, projection).limit(limit)]


def by_phone_hashes(db: Database, hashes: Iterable[str]) -> dict[str, Candidate]:
    """The candidates with these lookup hashes, keyed by hash (read in bounded chunks)."""
    wanted = sorted(set(hashes))
    found: dict[str, Candidate] = {}
    for start in range(0, len(wanted), _HASH_CHUNK):
        query = {"phone_hash": {"$in": wanted[start:start + _HASH_CHUNK]}}
        for d in db[CANDIDATES].find(query, {"phone_hash": 1, "job_ids": 1, "name": 1, "timezone": 1}):
            found[d["phone_hash"]] = Candidate.model_validate(d)
    return found


def insert_many_candidates(db: Database, docs: list[dict[str, Any]]) -> tuple[int, set[str]]:
    """Store new candidates; returns (how many were created, phone hashes already on file).

    A concurrent import may have created some of these numbers a moment ago: those come back
    as already on file instead of failing the whole batch.
    """
    try:
        return len(db[CANDIDATES].insert_many(docs, ordered=False).inserted_ids), set()
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        duplicates = {docs[e["index"]]["phone_hash"] for e in errors if e.get("code") == 11000}
        if len(duplicates) != len(errors):
            raise
        return exc.details.get("nInserted", 0), duplicates


def attach_job(db: Database, job_id: str, *, candidate_ids: Iterable[str] = (),
               phone_hashes: Iterable[str] = ()) -> int:
    """Add a job to candidates given by id or by phone hash; returns how many were matched."""
    now = utcnow()
    update = {"$addToSet": {"job_ids": str(job_id)}, "$set": {"updated_at": now}}
    ops = [UpdateOne({"_id": c}, update) for c in candidate_ids]
    ops += [UpdateOne({"phone_hash": h}, update) for h in phone_hashes]
    if not ops:
        return 0
    return db[CANDIDATES].bulk_write(ops, ordered=False).matched_count


def upsert_by_phone(db: Database, doc: dict[str, Any], job_id: str,
                    phone_hashes: list[str] | None = None) -> Candidate:
    """Find the candidate with this number (any of its hashes) or insert `doc`; attach the job."""
    doc = {k: v for k, v in doc.items() if k != "job_ids"}
    found = db[CANDIDATES].find_one_and_update(
        {"phone_hash": {"$in": list(phone_hashes or [doc["phone_hash"]])}},
        {"$setOnInsert": doc, "$addToSet": {"job_ids": str(job_id)}},
        upsert=True, return_document=ReturnDocument.AFTER,
    )
    return Candidate.model_validate(found)


def upsert_test_contact(db: Database, doc: dict[str, Any]) -> Candidate:
    """Find or insert a test-call contact by its `_id` (one per team member and number)."""
    fields = {k: v for k, v in doc.items() if k not in ("_id", "test_contact")}
    try:
        found = db[CANDIDATES].find_one_and_update(
            {"_id": doc["_id"], "test_contact": True}, {"$setOnInsert": fields},
            upsert=True, return_document=ReturnDocument.AFTER)
    except DuplicateKeyError:  # a second click inserted it a moment ago
        found = db[CANDIDATES].find_one({"_id": doc["_id"], "test_contact": True})
    return Candidate.model_validate(found)


def mark_do_not_call(db: Database, candidate_id: str, *, call_id: str, reason: str) -> bool:
    """Record a spoken opt-out once; True if this call set it (False if already set)."""
    now = utcnow()
    result = db[CANDIDATES].update_one(
        {"_id": candidate_id, "do_not_call": {"$ne": True}},
        {"$set": {"do_not_call": True, "do_not_call_at": now, "do_not_call_call_id": call_id,
                  "do_not_call_reason": reason}},
    )
    return result.modified_count == 1


def mark_human_requested(db: Database, candidate_id: str, job_id: str, *, call_id: str,
                         reason: str) -> bool:
    """The candidate asked on a call for a person: no further AI call for that job (once)."""
    field = f"human_requested.{job_id}"
    result = db[CANDIDATES].update_one(
        {"_id": candidate_id, field: {"$exists": False}},
        {"$set": {field: {"reason": reason, "call_id": call_id, "at": utcnow()}, "updated_at": utcnow()}},
    )
    return result.modified_count == 1


def lift_human_requested(db: Database, candidate_id: str, job_id: str) -> bool:
    """Remove the candidate's request for a person for one job; False if it was not there."""
    field = f"human_requested.{job_id}"
    result = db[CANDIDATES].update_one({"_id": candidate_id, field: {"$exists": True}},
                                       {"$unset": {field: ""}, "$set": {"updated_at": utcnow()}})
    return result.modified_count == 1


def set_do_not_call_by_hand(db: Database, candidate_id: str, *, by: str, reason: str) -> bool:
    """Put a candidate on the do-not-call list by hand; False when there is no such candidate or
    the candidate's own request from a call is in force (it is never turned into a hand-set one,
    which a recruiter could lift)."""
    result = db[CANDIDATES].update_one(
        {"_id": str(candidate_id), "do_not_call_call_id": None},
        {"$set": {"do_not_call": True, "do_not_call_at": utcnow(), "do_not_call_reason": reason,
                  "do_not_call_by": by, "do_not_call_call_id": None, "updated_at": utcnow()}},
    )
    return result.matched_count == 1


def lift_do_not_call(db: Database, candidate_id: str, *, spoken_on: str | None, by: str,
                     reason: str) -> bool:
    """Lift the do-not-call of a candidate, only if it is still the one the caller confirmed:
    set by hand (`spoken_on` None), or asked for by the candidate on call `spoken_on`."""
    now = utcnow()
    result = db[CANDIDATES].update_one(
        {"_id": str(candidate_id), "do_not_call": True, "do_not_call_call_id": spoken_on},
        {"$set": {"do_not_call": False, "do_not_call_lifted_at": now, "do_not_call_lifted_by": by,
                  "do_not_call_lifted_reason": reason, "do_not_call_lifted_call_id": spoken_on,
                  "do_not_call_call_id": None, "updated_at": now}},
    )
    return result.modified_count == 1


def candidate_ids_by_phone_hash(db: Database, phone_hashes: list[str], limit: int) -> list[str]:
    """Ids of the candidates with this phone number (by its keyed hashes), at most `limit`."""
    docs = db[CANDIDATES].find({"phone_hash": {"$in": list(phone_hashes)}}, {"_id": 1}).limit(limit)
    return [d["_id"] for d in docs]


def candidate_ids_by_name_tokens(db: Database, tokens: list[str], legacy_words: list[str],
                                 limit: int) -> list[str]:
    """Ids of the candidates whose name has every one of these search tokens, at most `limit`."""
    if not tokens:
        return []
    query = {**_name_match(tokens, legacy_words), **_CANDIDATES_ONLY}
    docs = db[CANDIDATES].find(query, {"_id": 1}).limit(limit)
    return [d["_id"] for d in docs]


def recent_jobs(db: Database, limit: int = 500) -> list[Job]:
    """Jobs for the list's job filter, archived ones too, newest first (bounded)."""
    docs = db[JOBS].find({}, {"title": 1, "status": 1, "created_at": 1}).sort("created_at", -1).limit(limit)
    return [Job.model_validate(d) for d in docs]


def job_summary(db: Database, job_id: str) -> Job | None:
    """A job's title, company and status (for a call's page)."""
    return Job.from_doc(db[JOBS].find_one({"_id": job_id}, {"title": 1, "company": 1, "status": 1}))


def call_party(db: Database, candidate_id: str) -> Candidate | None:
    """What a call page shows of its candidate: name, contact details, time zone, do-not-call."""
    doc = db[CANDIDATES].find_one(
        {"_id": candidate_id},
        {"name": 1, "phone": 1, "email": 1, "notes": 1, "timezone": 1, "do_not_call": 1},
    )
    return Candidate.from_doc(doc)


def candidate_contacts(db: Database, ids: list[str], batch: int) -> Iterator[Candidate]:
    """Name and (encrypted) phone of many candidates, read `batch` ids at a time."""
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        for doc in db[CANDIDATES].find({"_id": {"$in": chunk}}, {"name": 1, "phone": 1}):
            yield Candidate.model_validate(doc)


def count_open_jobs(db: Database) -> int:
    """How many jobs are open (neither closed nor archived)."""
    return db[JOBS].count_documents({"status": {"$nin": [JobStatus.ARCHIVED.value,
                                                         JobStatus.CLOSED.value]}})


def closed_jobs(db: Database, *, limit: int) -> list[Job]:
    """Closed and archived jobs that have a stage date (what retention by job stage reads);
    at most `limit`, oldest stage first."""
    query = {"status": {"$in": [JobStatus.CLOSED.value, JobStatus.ARCHIVED.value]},
             "$or": [{"closed_at": {"$type": "date"}}, {"archived_at": {"$type": "date"}}]}
    docs = db[JOBS].find(query).sort("updated_at", 1).limit(limit)
    return [Job.model_validate(d) for d in docs]


# -- legal holds (core.people.holds) ---------------------------------------------------------

_HOLD_LIMIT = 10_000  # holds are few; the purge's exclusion list never grows past this
_HELD = {"legal_hold": {"$type": "object"}}


def set_legal_hold(db: Database, collection: str, entity_id: str, hold: dict[str, Any] | None) -> bool:
    """Place (a dict) or lift (None) the legal hold of one candidate or job; False: no such one."""
    update = {"$set": {"legal_hold": hold, "updated_at": utcnow()}} if hold else {
        "$unset": {"legal_hold": ""}, "$set": {"updated_at": utcnow()}}
    return db[collection].update_one({"_id": entity_id}, update).matched_count == 1


def held_ids(db: Database, collection: str) -> list[str]:
    """Ids of the candidates or jobs (by collection) under a legal hold now."""
    return [d["_id"] for d in db[collection].find(_HELD, {"_id": 1}).limit(_HOLD_LIMIT)]


def legal_hold_of(db: Database, collection: str, entity_id: str) -> dict[str, Any] | None:
    """The legal hold of one candidate or job, or None."""
    doc = db[collection].find_one({"_id": entity_id}, {"legal_hold": 1})
    hold = (doc or {}).get("legal_hold")
    return hold if isinstance(hold, dict) else None


def count_candidates(db: Database) -> int:
    """How many candidates exist (from the collection's metadata, less the few test contacts
    counted on their index: no scan)."""
    tests = db[CANDIDATES].count_documents({"test_contact": True})
    return max(0, db[CANDIDATES].estimated_document_count() - tests)


# -- re-encryption (core.review.reencrypt) ---------------------------------------------------

SEALED_FIELDS = ("name", "phone", "email", "notes")  # encrypted at rest when a key is set


def not_written_with(prefix: str) -> dict[str, Any]:
    """A condition matching a non-empty string field that the key of `prefix` did not write."""
    return {"$type": "string", "$gt": "", "$not": re.compile("^" + re.escape(prefix))}


def candidates_to_reencrypt(db: Database, *, prefix: str | None, lookup_kid: str,
                            skip_ids: list[str], limit: int) -> list[Candidate]:
    """Candidates with a value an old key wrote (or plaintext), an old-style lookup hash, or a
    plaintext `name_lower`; at most `limit`, never those in `skip_ids` (failed this run)."""
    conditions: list[dict[str, Any]] = [{"lookup_kid": {"$ne": lookup_kid}},
                                        {"name_lower": {"$exists": True}}]
    if prefix is not None:
        conditions += [{field: not_written_with(prefix)} for field in SEALED_FIELDS]
    query: dict[str, Any] = {"$or": conditions}
    if skip_ids:
        query["_id"] = {"$nin": list(skip_ids)}
    return [Candidate.model_validate(d) for d in db[CANDIDATES].find(query).limit(limit)]


def candidates_with_human_requests_after(db: Database, after_id: str, limit: int) -> list[dict[str, Any]]:
    """Candidates who asked for a person (id and requests), by id after `after_id`, at most
    `limit`: the requests are keyed by job id, which a query cannot name, so they are paged."""
    query = {"_id": {"$gt": after_id}, "human_requested": {"$type": "object", "$ne": {}}}
    return list(db[CANDIDATES].find(query, {"human_requested": 1}).sort("_id", 1).limit(limit))


def rewrite_human_request_reason(db: Database, candidate_id: str, job_id: str, *, expected: str,
                                 reason: str) -> bool:
    """Replace the re-encrypted reason of one request for a person, if still `expected`."""
    field = f"human_requested.{job_id}.reason"
    result = db[CANDIDATES].update_one({"_id": candidate_id, field: expected}, {"$set": {field: reason}})
    return result.modified_count == 1


def rewrite_candidate(db: Database, candidate_id: str, *, expected: dict[str, Any],
                      fields: dict[str, Any]) -> str:
    """Replace re-encrypted values and hashes, only if the stored ones are still `expected`:
    "done", "changed" (an edit made meanwhile wins; the next run sees the candidate again) or
    "duplicate" (another candidate already has this number under the current hash)."""
    try:
        result = db[CANDIDATES].update_one({"_id": candidate_id, **expected},
                                           {"$set": fields, "$unset": {"name_lower": ""}})
    except DuplicateKeyError:
        return "duplicate"
    return "done" if result.modified_count == 1 else "changed"


# -- the do-not-call numbers of erased candidates ------------------------------------------


def keep_do_not_call_number(db: Database, phone_hash: str, *, lookup_kid: str, erasure_id: str) -> None:
    """Remember that this number (its keyed hash) must never be called: its candidate, who had
    asked not to be called, was erased (core.privacy). Writing it twice is harmless."""
    db[DO_NOT_CALL_NUMBERS].update_one(
        {"_id": phone_hash},
        {"$setOnInsert": {"lookup_kid": lookup_kid, "erasure_id": erasure_id, "at": utcnow()}},
        upsert=True,
    )


def listed_do_not_call(db: Database, phone_hashes: Iterable[str]) -> set[str]:
    """Which of these number hashes belong to an erased candidate who asked not to be called."""
    wanted = sorted({h for h in phone_hashes if h})
    found: set[str] = set()
    for start in range(0, len(wanted), _HASH_CHUNK):
        chunk = wanted[start:start + _HASH_CHUNK]
        found |= {d["_id"] for d in db[DO_NOT_CALL_NUMBERS].find({"_id": {"$in": chunk}}, {"_id": 1})}
    return found
