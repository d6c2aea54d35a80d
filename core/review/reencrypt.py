"""Re-encryption after a key rotation (and the migration of lookup hashes), in bounded batches.

Everything personal that is encrypted at rest — candidates' names, phone numbers, emails and
notes, call summaries (on the call and in stored webhooks), transcript words, what the agent's
tools recorded (answers and their corrections, the reason a person was asked for, on the call
and the candidate, the voicemail text, the stored tool request bodies) — is rewritten
with DATA_ENCRYPTION_KEY; plaintext written before a key was set is encrypted. Each candidate's
phone hash and name-search tokens are recomputed under LOOKUP_HASH_KEY (this migrates hashes
the old derivation made from the encryption key), and the plaintext `name_lower` is dropped.

Resumable by construction: what still needs work is found from the data itself (the key id in
each ciphertext, the lookup key id on each candidate), so an interrupted run simply continues.
Answers and requests for a person are keyed by question and job ids, which a query cannot name:
those documents are read page by page in id order within a run, and a new run starts over.
Each write is conditional on the value read, so concurrent edits win and are picked up later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core import crypto
from core.db import CALL_EVENTS, CALLS, CANDIDATES, TOOL_REQUESTS, TRANSCRIPTS, Database
from core.people import store as people_store
from core.review import reencrypt_store

log = logging.getLogger(__name__)

DEFAULT_BATCH = 200
MAX_BATCH = 2000


@dataclass
class ReencryptReport:
    """What a run rewrote, per collection, and what it could not (each failed id is named)."""

    candidates: int = 0
    calls: int = 0
    events: int = 0
    transcripts: int = 0
    tool_requests: int = 0
    answers: int = 0  # agent answers (with their history) rewritten
    batches: int = 0
    failed: dict[str, list[str]] = field(default_factory=dict)  # collection → ids
    complete: bool = False  # nothing left to do (apart from the failed ones)
    # Where the id-ordered reads of answers and requests for a person are (None: finished).
    answers_after: str | None = field(default="", repr=False)
    human_after: str | None = field(default="", repr=False)

    def fail(self, collection: str, doc_id: str) -> None:
        """Count one document that could not be rewritten (and skip it for the rest of the run)."""
        ids = self.failed.setdefault(collection, [])
        if str(doc_id) not in ids:  # a call may fail on its summary and on an answer
            ids.append(str(doc_id))

    def skipped(self, collection: str) -> list[str]:
        """The ids of `collection` that failed in this run."""
        return self.failed.get(collection, [])

    def as_dict(self) -> dict[str, Any]:
        """The report for the CLI's output."""
        return {"candidates": self.candidates, "calls": self.calls, "events": self.events,
                "transcripts": self.transcripts, "tool_requests": self.tool_requests,
                "answers": self.answers, "batches": self.batches,
                "failed": {k: len(v) for k, v in self.failed.items()},
                "failed_ids": self.failed, "complete": self.complete}


def _candidate_fields(doc: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(expected stored values, new values) of one candidate; CryptoError if unreadable."""
    expected = {f: getattr(doc, f) for f in people_store.SEALED_FIELDS}
    expected["phone_hash"] = doc.phone_hash
    plain = {f: crypto.decrypt(v) for f, v in expected.items() if f in people_store.SEALED_FIELDS}
    new: dict[str, Any] = {f: crypto.encrypt(v) if v else v for f, v in plain.items()}
    new["name_tokens"] = [] if doc.test_contact else crypto.name_tokens(plain["name"] or "")
    new["lookup_kid"] = crypto.lookup_key_id()
    # A test contact keeps its placeholder hash: a real one would make it a candidate to lookups.
    if plain["phone"] and not doc.test_contact:
        new["phone_hash"] = crypto.phone_hash(plain["phone"])
    # Fields absent from the document are matched as null and left absent.
    for name in people_store.SEALED_FIELDS:
        if expected[name] is None:
            new.pop(name, None)
    return expected, new


def _candidates(db: Database, report: ReencryptReport, batch: int) -> int:
    docs = people_store.candidates_to_reencrypt(
        db, prefix=crypto.current_prefix(), lookup_kid=crypto.lookup_key_id(),
        skip_ids=report.skipped("candidates"), limit=batch)
    for doc in docs:
        try:
            expected, new = _candidate_fields(doc)
        except crypto.CryptoError:
            report.fail("candidates", doc.id)
            continue
        outcome = people_store.rewrite_candidate(db, doc.id, expected=expected, fields=new)
        if outcome == "done":
            report.candidates += 1
        elif outcome == "duplicate":
            # Two records of one number (one made during the migration): a person merges them.
            log.warning("candidate %s: another candidate has the same number; not migrated", doc.id)
            report.fail("candidates", doc.id)
    return len(docs)


def _flat(doc: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def _rewrite(db: Database, collection: str, report: ReencryptReport, docs: list[dict[str, Any]],
             paths: tuple[str, ...]) -> int:
    done = 0
    for doc in docs:
        expected = {p: _flat(doc, p) for p in paths if isinstance(_flat(doc, p), str)}
        try:
            new = {p: crypto.reencrypt(v) for p, v in expected.items()}
        except crypto.CryptoError:
            report.fail(collection, doc["_id"])
            continue
        if reencrypt_store.replace_fields(db, collection, doc["_id"], expected=expected, fields=new):
            done += 1
    return done


def _transcripts(db: Database, report: ReencryptReport, prefix: str, batch: int) -> int:
    docs = reencrypt_store.transcripts_to_reencrypt(db, prefix, report.skipped(TRANSCRIPTS), batch)
    for doc in docs:
        messages = doc.get("messages") or []
        try:
            new = [{**m, "text": crypto.reencrypt(m.get("text"))} if isinstance(m, dict) else m
                   for m in messages]
        except crypto.CryptoError:
            report.fail(TRANSCRIPTS, doc["_id"])
            continue
        if reencrypt_store.replace_fields(db, TRANSCRIPTS, doc["_id"], expected={"messages": messages},
                                          fields={"messages": new}):
            report.transcripts += 1
    return len(docs)


def _answers(db: Database, report: ReencryptReport, batch: int) -> int:
    if report.answers_after is None:
        return 0
    docs = reencrypt_store.calls_with_answers_after(db, report.answers_after, batch)
    report.answers_after = docs[-1]["_id"] if len(docs) == batch else None
    for doc in docs:
        for qid, answer in (doc.get("agent_answers") or {}).items():
            if not isinstance(answer, dict):
                continue
            earlier = [e for e in answer.get("earlier") or [] if isinstance(e, dict)]
            if crypto.is_current(answer.get("answer")) and all(crypto.is_current(e.get("answer"))
                                                               for e in earlier):
                continue
            try:
                new = {"answer": crypto.reencrypt(answer.get("answer")),
                       "earlier": [{**e, "answer": crypto.reencrypt(e.get("answer"))} for e in earlier]}
            except crypto.CryptoError:
                report.fail(CALLS, doc["_id"])
                continue
            if reencrypt_store.replace_answer(db, doc["_id"], qid, seq=answer.get("seq"),
                                              answer=answer.get("answer"), fields=new):
                report.answers += 1
    return len(docs)


def _human_requests(db: Database, report: ReencryptReport, batch: int) -> int:
    if report.human_after is None:
        return 0
    docs = people_store.candidates_with_human_requests_after(db, report.human_after, batch)
    report.human_after = docs[-1]["_id"] if len(docs) == batch else None
    for doc in docs:
        for job_id, request in (doc.get("human_requested") or {}).items():
            reason = request.get("reason") if isinstance(request, dict) else None
            if not isinstance(reason, str) or crypto.is_current(reason):
                continue
            try:
                new = crypto.reencrypt(reason) or ""
            except crypto.CryptoError:
                report.fail(CANDIDATES, doc["_id"])
                continue
            if people_store.rewrite_human_request_reason(db, doc["_id"], job_id, expected=reason, reason=new):
                report.candidates += 1
    return len(docs)


def reencrypt_batch(db: Database, report: ReencryptReport, batch: int = DEFAULT_BATCH) -> bool:
    """One bounded batch over every collection; True when some collection had work left."""
    batch = max(1, min(int(batch), MAX_BATCH))
    seen = _candidates(db, report, batch)
    prefix = crypto.current_prefix()
    if prefix is not None:  # without a key, plaintext summaries and transcripts are current
        calls = reencrypt_store.calls_to_reencrypt(db, prefix, report.skipped(CALLS), batch)
        report.calls += _rewrite(db, CALLS, report, calls, reencrypt_store.CALL_FIELDS)
        events = reencrypt_store.events_to_reencrypt(db, prefix, report.skipped(CALL_EVENTS), batch)
        report.events += _rewrite(db, CALL_EVENTS, report, events, reencrypt_store.EVENT_FIELDS)
        requests = reencrypt_store.tool_requests_to_reencrypt(db, prefix, report.skipped(TOOL_REQUESTS),
                                                              batch)
        report.tool_requests += _rewrite(db, TOOL_REQUESTS, report, requests,
                                         reencrypt_store.TOOL_REQUEST_FIELDS)
        seen = max(seen, len(calls), len(events), len(requests), _transcripts(db, report, prefix, batch),
                   _answers(db, report, batch), _human_requests(db, report, batch))
    report.batches += 1
    return seen > 0


def reencrypt_all(db: Database, *, batch: int = DEFAULT_BATCH, max_batches: int | None = None,
                  progress: Callable[[ReencryptReport], None] | None = None) -> ReencryptReport:
    """Re-encrypt batch after batch until nothing is left (or `max_batches` ran)."""
    report = ReencryptReport()
    while max_batches is None or report.batches < max_batches:
        if not reencrypt_batch(db, report, batch):
            report.complete = True
            break
        if progress is not None:
            progress(report)
    return report
