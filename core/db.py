"""The MongoDB client, the collections and their indexes."""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, MongoClient, ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from core import faults
from core.config import get_settings

# Services type their `db` argument and catch database failures through these names, so that
# pymongo itself is imported only here and in the store modules.
DatabaseError = PyMongoError

log = logging.getLogger(__name__)

# Collection names of the Contract.
GLOBAL_VOICE_CONFIG = "global_voice_config"
JOB_VOICE_CONFIGS = "job_voice_configs"
JOBS = "jobs"
CANDIDATES = "candidates"
CALLS = "calls"
CALL_EVENTS = "call_events"
USERS = "users"
AUDIT_LOG = "audit_log"
# Our own additions.
TRANSCRIPTS = "call_transcripts"  # one document per call, _id = call id
CONFIG_VERSIONS = "config_versions"  # history of global/job config changes
PROVIDER_CACHE = "provider_cache"  # voices/models lists with fetch time
APP_STATE = "app_state"  # dial gates, worker heartbeats
BATCHES = "batches"
ROLLUPS = "usage_rollups"  # per-day/per-job counters for the usage page
MEDIA_CACHE = "media_cache"  # recordings and voice previews fetched server-side
BUDGETS = "budgets"  # one document per month: what the calls claimed in it have committed
SESSIONS = "auth_sessions"  # log-in sessions, keyed by a hash of the cookie's token
LOGIN_THROTTLE = "login_throttle"  # recent log-in failures and locks per (user, address)
ERASURES = "erasures"  # one tombstone per erased candidate (core.privacy): no personal data
DO_NOT_CALL_NUMBERS = "do_not_call_numbers"  # keyed hashes of erased do-not-call numbers
TOOL_REQUESTS = "tool_requests"  # the agent's tool requests, _id = hash of (call, tool, body)

_INDEXES: dict[str, list[IndexModel]] = {
    USERS: [IndexModel([("username", ASCENDING)], unique=True, name="username_unique")],
    JOBS: [IndexModel([("status", ASCENDING), ("created_at", DESCENDING)], name="status_created")],
    JOB_VOICE_CONFIGS: [IndexModel([("job_id", ASCENDING)], unique=True, name="job_unique")],
    CANDIDATES: [
        IndexModel([("job_ids", ASCENDING)], name="job_ids"),
        # One candidate per phone number (a candidate may apply to several jobs).
        IndexModel([("phone_hash", ASCENDING)], unique=True, name="phone_hash_unique"),
        # The few test-call contacts, counted to take them off the candidate count.
        IndexModel([("test_contact", ASCENDING)], sparse=True, name="test_contact"),
        # Name search: keyed hashes of name prefixes (core.crypto.name_tokens), multikey.
        IndexModel([("name_tokens", ASCENDING)], name="name_tokens"),
    ],
    CALLS: [
        # One open screening per candidate per job: `open_key` is set while a call is
        # queued or live and removed when it ends (a sparse unique index, which both real
        # MongoDB and the embedded server enforce).
        IndexModel([("open_key", ASCENDING)], unique=True, sparse=True, name="open_key_unique"),
        # A provider id names one call. The field is absent until it is known (never null:
        # a sparse unique index would refuse a second null), and being unique the index is
        # one the embedded server also uses for equality lookups (webhooks without our id).
        IndexModel([("ultravox_call_id", ASCENDING)], unique=True, sparse=True,
                   name="ultravox_call_id_unique"),
        IndexModel([("twilio_call_sid", ASCENDING)], unique=True, sparse=True,
                   name="twilio_call_sid_unique"),
        IndexModel([("job_id", ASCENDING), ("created_at", DESCENDING)], name="job_created"),
        IndexModel([("candidate_id", ASCENDING), ("created_at", DESCENDING)], name="cand_created"),
        IndexModel([("status", ASCENDING), ("next_attempt_at", ASCENDING)], name="status_next"),
        IndexModel([("created_at", DESCENDING)], name="created"),
        IndexModel([("needs_followup", ASCENDING)], sparse=True, name="needs_followup"),
        # Refused recordings whose deletion at Ultravox keeps failing (Home's alert).
        IndexModel([("recording_consent.delete_attempts", ASCENDING)], sparse=True,
                   name="consent_delete_attempts"),
        # Review-page filters on real MongoDB (the embedded server scans regardless).
        IndexModel([("status", ASCENDING), ("created_at", DESCENDING)], name="status_created"),
        IndexModel([("review.decision", ASCENDING), ("created_at", DESCENDING)], name="decision_created"),
        IndexModel([("budget.month", ASCENDING)], sparse=True, name="budget_month"),
        # Home's count of calls whose disclosure was not found (core.compliance.store).
        IndexModel([("disclosure.found", ASCENDING), ("dialed_at", DESCENDING)], name="disclosure_dialed"),
        # The few test calls, counted to take them off the calls count.
        IndexModel([("test_call", ASCENDING)], sparse=True, name="test_call"),
    ],
    CALL_EVENTS: [
        IndexModel([("dedupe_key", ASCENDING)], unique=True, name="dedupe_unique"),
        IndexModel([("call_id", ASCENDING), ("received_at", ASCENDING)], name="call_received"),
        IndexModel([("applied", ASCENDING)], name="applied"),
    ],
    AUDIT_LOG: [
        IndexModel([("at", DESCENDING)], name="at"),
        IndexModel(
            [("entity", ASCENDING), ("entity_id", ASCENDING), ("at", DESCENDING)], name="entity"
        ),
    ],
    CONFIG_VERSIONS: [
        IndexModel(
            [("scope", ASCENDING), ("version", DESCENDING)], unique=True, name="scope_version"
        )
    ],
    BATCHES: [IndexModel([("job_id", ASCENDING), ("created_at", DESCENDING)], name="job_created")],
    ROLLUPS: [IndexModel([("day", ASCENDING), ("job_id", ASCENDING)], name="day_job")],
    MEDIA_CACHE: [IndexModel([("expires_at", ASCENDING)], name="expires")],
    SESSIONS: [
        IndexModel([("username", ASCENDING)], name="username"),
        IndexModel([("expires_at", ASCENDING)], name="expires"),
    ],
    LOGIN_THROTTLE: [
        IndexModel([("username", ASCENDING)], name="username"),
        IndexModel([("expires_at", ASCENDING)], name="expires"),
    ],
}

# Only on the embedded stand-in, which answers a query from a unique index whose keys are
# exactly the query's fields and otherwise scans the collection: these let the writes that
# compare one field besides `_id` (status moves, the rollup gate, the follow-up's lease and
# postpone, the budget's count) find their call by index. MongoDB finds them by its `_id`
# index alone, so they are not declared there.
_EMBEDDED_COMPARE_AND_SET: dict[str, list[IndexModel]] = {
    CALLS: [IndexModel([("_id", ASCENDING), (field, ASCENDING)], unique=True, name=f"id_{field}")
            for field in ("status", "rollup.seq", "followup_seq", "followup_lease_seq", "budget.counted")],
}


@functools.lru_cache(maxsize=1)
def get_client() -> MongoClient:
    """The one MongoClient of this process; lazy so pre-fork servers stay safe."""
    settings = get_settings()
    return MongoClient(
        settings.effective_mongodb_uri,
        connect=False,
        tz_aware=True,
        serverSelectionTimeoutMS=3000,
        connectTimeoutMS=3000,
        socketTimeoutMS=20000,
        appname="voice-screening-console",
    )


def get_db() -> Database:
    """The application database."""
    return get_client()[get_settings().mongodb_db]


# Indexes an earlier version created and a newer one replaced (same key, other options).
_REPLACED_INDEXES: dict[str, tuple[str, ...]] = {CALLS: ("ultravox_call_id", "twilio_call_sid")}
PROVIDER_ID_FIELDS = ("ultravox_call_id", "twilio_call_sid")


def ensure_indexes(db: Database) -> None:
    """Create every index the app relies on; safe to run at each start."""
    _migrate_provider_ids(db)
    for name, indexes in _INDEXES.items():
        db[name].create_indexes(indexes)
    if server_facts(db)["embedded_stand_in"]:
        for name, indexes in _EMBEDDED_COMPARE_AND_SET.items():
            db[name].create_indexes(indexes)


def _migrate_provider_ids(db: Database) -> None:
    # Calls written before provider ids became unique carried explicit nulls: remove them
    # (absent and null read the same) so the sparse unique indexes can be built.
    for field in PROVIDER_ID_FIELDS:
        db[CALLS].update_many({field: {"$type": "null"}}, {"$unset": {field: ""}})
    existing = {ix["name"] for ix in db[CALLS].list_indexes()}
    for old in _REPLACED_INDEXES[CALLS]:
        if old in existing:
            db[CALLS].drop_index(old)


def ping(db: Database) -> tuple[bool, str]:
    """Check the database answers; returns (ok, human-readable reason)."""
    try:
        db.client.admin.command("ping")
        return True, "database reachable"
    except PyMongoError as exc:
        return False, f"database unreachable: {type(exc).__name__}"


def reaches_embedded_stand_in(uri: str) -> bool:
    """True when `uri` answers as the embedded stand-in (its `buildInfo` says so); False for a
    real server or one that does not answer now. A short-lived client of its own, so a
    pre-fork server can ask before it forks."""
    client: MongoClient = MongoClient(uri, serverSelectionTimeoutMS=5000)
    try:
        return bool(client.admin.command("buildInfo").get("embeddedStandIn"))
    except PyMongoError:
        return False
    finally:
        client.close()


def server_facts(db: Database) -> dict[str, Any]:
    """What the server says about itself: the embedded stand-in's mark and the replica set."""
    admin = db.client.admin
    build = admin.command("buildInfo")
    # Only the embedded launcher sends this field (README, "The embedded database").
    facts: dict[str, Any] = {"embedded_stand_in": bool(build.get("embeddedStandIn")),
                             "version": build.get("version"), "replica_set": None, "sharded": False}
    if not facts["embedded_stand_in"]:
        hello = admin.command("hello")
        facts["replica_set"] = hello.get("setName")
        facts["sharded"] = hello.get("msg") == "isdbgrid"  # a mongos in front of replica sets
    return facts


def insert_new(collection: Collection, doc: dict[str, Any]) -> bool:
    """Insert a document; False when a unique index says it (or its twin) is already there."""
    try:
        collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


def field_key(value: str) -> str:
    """`value` made safe as one key of a field path (no dots or dollars; distinct stays distinct).

    Per-job counters live under `jobs.<key>`; a job id is ours (hex) but may come from an import.
    """
    if value and all(c.isalnum() or c in "-_" for c in value):
        return value
    return "h" + hashlib.sha256(value.encode()).hexdigest()[:32]


def new_id() -> str:
    """A fresh string id for our documents (safe in URLs and provider metadata)."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Now on this host, timezone-aware in UTC (a test may skew it: core.faults)."""
    return datetime.now(UTC) + faults.clock_skew()


def server_now(db: Database) -> datetime:
    """Now on the database server: the one clock every process agrees on.

    Decisions several hosts take about the same call (calling hours, leases, staleness, the
    dial gate) read this clock, so a host whose clock runs ahead cannot dial at 3 a.m. or
    judge a live call stale.
    """
    doc = db[APP_STATE].find_one_and_update({"_id": "clock"}, {"$currentDate": {"at": True}},
                                            upsert=True, return_document=ReturnDocument.AFTER)
    at = doc["at"]
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class GroupInsert:
    """Inserts into one collection from many threads, concurrent ones grouped into one command.

    `insert(doc)` returns once the command that carried `doc` returned: True if stored, False
    if a unique index refused it; a failed write raises in every thread whose document it
    carried. At most `max_in_flight` commands run at once; documents that arrive meanwhile go
    together (oldest first) in the next one, written by whichever waiting caller gets the free
    slot. On a store that commits before acknowledging, a group shares one commit.
    """

    def __init__(self, collection: Collection, *, max_group: int = 64, max_in_flight: int = 2) -> None:
        self._collection = collection
        self._max_group = max_group
        self._max_in_flight = max_in_flight
        self._cond = threading.Condition()
        self._waiting: list[_Pending] = []
        self._in_flight = 0

    def insert(self, doc: dict[str, Any]) -> bool:
        """Store `doc`; True if stored, False for a duplicate; raises if the write failed."""
        mine = _Pending(doc)
        with self._cond:
            self._waiting.append(mine)
            while not mine.done:
                if self._in_flight < self._max_in_flight and self._waiting:
                    group = self._waiting[: self._max_group]
                    del self._waiting[: self._max_group]
                    self._in_flight += 1
                    self._cond.release()
                    try:
                        self._write(group)
                    finally:
                        self._cond.acquire()
                        self._in_flight -= 1
                        for pending in group:
                            pending.done = True
                        self._cond.notify_all()
                else:
                    self._cond.wait()
        if mine.error is not None:
            raise mine.error
        return bool(mine.stored)

    def _write(self, group: list[_Pending]) -> None:
        try:
            if len(group) == 1:
                group[0].stored = insert_new(self._collection, group[0].doc)
                return
            self._collection.insert_many([p.doc for p in group], ordered=False)
            for p in group:
                p.stored = True
        except BulkWriteError as exc:
            failed = {e["index"]: e for e in exc.details.get("writeErrors", [])}
            for index, p in enumerate(group):
                err = failed.get(index)
                if err is None:
                    p.stored = True
                elif err.get("code") == _DUPLICATE_KEY:
                    p.stored = False
                else:
                    p.error = PyMongoError(err.get("errmsg", "write failed"))
            if exc.details.get("writeConcernErrors"):
                for p in group:
                    p.error = p.error or exc
        except Exception as exc:  # noqa: BLE001 - every caller of the group gets the failure
            for p in group:
                p.error = exc


_DUPLICATE_KEY = 11000


class _Pending:
    """One caller's document in a GroupInsert, and what became of it."""

    __slots__ = ("doc", "done", "error", "stored")

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.done = False
        self.stored: bool | None = None
        self.error: Exception | None = None
