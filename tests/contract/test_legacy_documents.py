"""Documents written by the code before the restructure still read, render and print.

`tests/fixtures/legacy_db/` is a dump (canonical Extended JSON) of a database seeded by the
last landing before the restructure, through its own functions: users of every role,
global and job settings with history, a cached voice list, nine sandbox calls with every
outcome (answered, no answer, busy, voicemail, rejected, dropped, opt-out, a batch), their
events, transcripts, a review, a cached recording head and the usage rollups. The typed
models must read every one of them without losing a field, every page must render them for
every role, and the ops CLI must print them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bson import json_util
from streamlit.testing.v1 import AppTest

from core import auth, manage
from core.auth.roles import Role
from core.documents.base import Document
from core.documents.batch import Batch
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.documents.event import Event
from core.documents.job import Job
from tests.support.apptest import TIMEOUT, page_path, signed_in, texts

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_db"
MODELS: dict[str, type[Document]] = {
    "calls": Call, "candidates": Candidate, "jobs": Job, "batches": Batch, "call_events": Event,
}


def _documents(collection: str) -> list[dict[str, Any]]:
    return json_util.loads((FIXTURE / f"{collection}.json").read_text())


@pytest.fixture
def legacy_db(db):
    """The test database filled with the legacy dump."""
    for path in sorted(FIXTURE.glob("*.json")):
        docs = _documents(path.stem)
        if docs:
            db[path.stem].insert_many(docs)
    return db


def _keys(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a document, nested documents included."""
    if not isinstance(value, dict):
        return set()
    out = set()
    for key, item in value.items():
        out.add(prefix + key)
        if key not in ("config_snapshot", "request_body", "payload", "applied", "local_times",
                       "ratings", "telephony_foreign"):  # free-form maps: data, not fields
            out |= _keys(item, f"{prefix}{key}.")
    return out


@pytest.mark.parametrize("collection", sorted(MODELS))
def test_every_legacy_document_reads_into_its_model_without_losing_a_field(collection) -> None:
    docs = _documents(collection)
    assert docs, f"the fixture has no {collection}"
    model = MODELS[collection]
    for doc in docs:
        typed = model.model_validate(doc)
        assert typed.id == doc["_id"]
        # Re-dumped through the model, the document has exactly the fields it was stored with.
        assert _keys(json.loads(json_util.dumps(typed.to_doc()))) == \
            _keys(json.loads(json_util.dumps(doc))), doc["_id"]


def _legacy_ids(db) -> dict[str, str]:
    answered = db["calls"].find_one({"review": {"$exists": True}})
    opted = db["calls"].find_one({"opt_out": True})
    return {"call": answered["_id"], "opt_out_call": opted["_id"],
            "candidate": opted["candidate_id"], "job": answered["job_id"]}


@pytest.mark.parametrize("role", list(Role))
def test_every_page_renders_the_legacy_data_for_every_role(legacy_db, role) -> None:
    user = next(u for u in auth.list_users(legacy_db) if u.role == role)
    ids = _legacy_ids(legacy_db)
    deep_links = {"transcripts": {"call": ids["call"]}, "call": {"call": ids["call"]},
                  "jobs_candidates": {"candidate": ids["candidate"]}, "job_settings": {"job": ids["job"]}}
    for stem in auth.pages_for(role):
        for params in ({}, deep_links.get(stem)):
            if params is None:
                continue
            at = signed_in(AppTest.from_file(page_path(stem), default_timeout=TIMEOUT), user)
            for key, value in params.items():
                at.query_params[key] = value
            at.run()
            assert not at.exception, (stem, params, [e.value for e in at.exception])
            shown = texts(at)
            # A refused session would say so: the page ran as the signed-in user.
            assert "Please log in" not in shown, (stem, params)


def test_the_cli_prints_every_legacy_call(legacy_db, test_env, capsys) -> None:
    for doc in legacy_db["calls"].find({}, {"_id": 1, "status": 1}):
        assert manage.main(["--json", "show-call", doc["_id"]]) == 0
        shown = json.loads(capsys.readouterr().out)
        assert shown["id"] == doc["_id"] and shown["status"] == doc["status"]
        assert shown["outcome"] and "costs" in shown
