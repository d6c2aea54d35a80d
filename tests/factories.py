"""Stored documents for the tests, built through the typed models of core.documents.

Each builder takes any field of its model as a keyword (`id=` for `_id`) over a few sensible
defaults: a fresh id from `core.db.new_id`, aware UTC times, an open job, a queued call. The
builders return the typed model; `.to_doc()` is the stored shape, with exactly the fields that
were given or defaulted (a field passed as None is written as an explicit null). The `insert_*`
builders write that shape to the test database and return the model.

A test that checks how old or odd data is read (explicit nulls the model would not write, legacy
shapes, values the model refuses) writes its raw document itself and says so.
"""

from __future__ import annotations

import itertools
from typing import Any

from core import crypto
from core.db import BATCHES, CALL_EVENTS, CALLS, CANDIDATES, JOBS, Database, new_id, utcnow
from core.documents.batch import Batch
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.documents.event import Event
from core.documents.job import Job

# Distinct numbers for candidates built without one (the phone hash is unique in the database).
_numbers = itertools.count(1)


def _stamped(fields: dict[str, Any]) -> dict[str, Any]:
    """`created_at` now unless given, `updated_at` the same unless given."""
    created = fields.get("created_at", utcnow())
    return {"created_at": created, "updated_at": fields.get("updated_at", created), **fields}


# -- calls --------------------------------------------------------------------------------


def call_doc(built: Call) -> dict[str, Any]:
    """A call as the store writes it: provider ids absent until known (never null, which their
    sparse unique indexes would refuse twice)."""
    doc = built.to_doc()
    for key in ("ultravox_call_id", "twilio_call_sid"):
        if doc.get(key, "") is None:
            del doc[key]
    return doc


def call(**fields: Any) -> Call:
    """A call: queued, first attempt, for a fresh candidate and job id unless given."""
    return Call(**{"id": new_id(), "candidate_id": new_id(), "job_id": new_id(), "status": "queued",
                   "attempt": 1, **_stamped(fields)})


def insert_call(db: Database, **fields: Any) -> Call:
    """`call(**fields)` written to the calls collection."""
    built = call(**fields)
    db[CALLS].insert_one(call_doc(built))
    return built


def launched_call(**fields: Any) -> Call:
    """A call as the launcher leaves it once both providers took it: dialing, its open key and
    both provider ids (job "job1" unless given)."""
    call_id = fields.pop("id", None) or new_id()
    candidate_id = fields.pop("candidate_id", None) or new_id()
    job_id = fields.pop("job_id", "job1")
    return call(**{"id": call_id, "candidate_id": candidate_id, "job_id": job_id, "status": "dialing",
                   "open_key": f"{candidate_id}:{job_id}:{call_id}", "ultravox_call_id": f"uv-{call_id}",
                   "twilio_call_sid": "CA" + call_id[:32].ljust(32, "0"), **fields})


def insert_launched_call(db: Database, **fields: Any) -> Call:
    """`launched_call(**fields)` written to the calls collection."""
    built = launched_call(**fields)
    db[CALLS].insert_one(call_doc(built))
    return built


# -- people -------------------------------------------------------------------------------


def candidate(**fields: Any) -> Candidate:
    """A consenting candidate with a distinct US number, stored as the people store stores it
    (`phone` encrypted when a key is set, `phone_hash`, `phone_last4`, `name_lower`)."""
    phone = fields.pop("phone", None) or f"+1415555{next(_numbers) % 10_000:04d}"
    name = fields.get("name", "Casey Candidate")
    return Candidate(**{"id": new_id(), "name": name, "name_lower": name.lower(),
                        "phone": crypto.encrypt(phone), "phone_hash": crypto.phone_hash(phone),
                        "phone_last4": phone[-4:], "consent": True, "do_not_call": False, "job_ids": [],
                        **_stamped(fields)})


def insert_candidate(db: Database, **fields: Any) -> Candidate:
    """`candidate(**fields)` written to the candidates collection."""
    built = candidate(**fields)
    db[CANDIDATES].insert_one(built.to_doc())
    return built


def job(**fields: Any) -> Job:
    """An open job."""
    return Job(**{"id": new_id(), "title": "Warehouse lead", "company": "Acme Logistics", "status": "open",
                  **_stamped(fields)})


def insert_job(db: Database, **fields: Any) -> Job:
    """`job(**fields)` written to the jobs collection."""
    built = job(**fields)
    db[JOBS].insert_one(built.to_doc())
    return built


# -- batches and events -------------------------------------------------------------------


def batch(**fields: Any) -> Batch:
    """A running batch of a fresh job id unless given, nothing queued yet."""
    return Batch(**{"id": new_id(), "job_id": new_id(), "name": "Test batch", "status": "running",
                    "queued": 0, **_stamped(fields)})


def insert_batch(db: Database, **fields: Any) -> Batch:
    """`batch(**fields)` written to the batches collection."""
    built = batch(**fields)
    db[BATCHES].insert_one(built.to_doc())
    return built


def event(**fields: Any) -> Event:
    """A provider event received now from a webhook, not applied yet (a Twilio `ringing` unless
    given), with a dedupe key of its own unless given."""
    event_id = fields.pop("id", None) or new_id()
    provider = fields.get("provider", "twilio")
    kind = fields.get("kind", "ringing")
    return Event(**{"id": event_id, "dedupe_key": f"{provider}:{event_id}:{kind}", "provider": provider,
                    "kind": kind, "payload": {}, "received_at": utcnow(), "source": "webhook",
                    "applied": False, **fields})


def insert_event(db: Database, **fields: Any) -> Event:
    """`event(**fields)` written to the call_events collection."""
    built = event(**fields)
    db[CALL_EVENTS].insert_one(built.to_doc())
    return built
