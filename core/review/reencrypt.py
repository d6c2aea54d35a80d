"""Re-encryption after a key rotation (and the migration of lookup hashes), in bounded batches.

Everything personal that is encrypted at rest — candidates' names, phone numbers, emails and
notes, call summaries (on the call and in stored webhooks), transcript words — is rewritten
with DATA_ENCRYPTION_KEY; plaintext written before a key was set is encrypted. Each candidate's
phone hash and name-search tokens are recomputed under LOOKUP_HASH_KEY (this migrates hashes
the old derivation made from the encryption key), and the plaintext `name_lower` is dropped.

Resumable by construction: what still needs work is found from the data itself (the key id in
each ciphertext, the lookup key id on each candidate), so an interrupted run simply continues.
Each write is conditional on the value read, so concurrent edits win and are picked up later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core import crypto
from core.db import CALL_EVENTS, CALLS, TRANSCRIPTS, Database
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
    batches: int = 0
    failed: dict[str, list[str]] = field(default_factory=dict)  # collection → ids
    complete: bool = False  # nothing left to do (apart from the failed ones)

    def fail(self, collection: str, doc_id: str) -> None:
        """Count one document that could not be rewritten (and skip it for the rest of the run)."""
        self.failed.setdefault(collection, []).append(str(doc_id))

    def skipped(self, collection: str) -> list[str]:
        """The ids of `collection` that failed in this run."""
        return self.failed.get(collection, [])

    def as_dict(self) -> dict[str, Any]:
        """The report for the CLI's output."""
        return {"candidates": self.candidates, "calls": self.calls, "events": self.events,
                "transcripts": self.transcripts, "batches": self.batches,
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
        seen = max(seen, len(calls), len(events), _transcripts(db, report, prefix, batch))
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
