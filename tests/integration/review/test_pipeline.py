"""The pipeline on the real database: stages, knockouts, visibility, the typed export, the launch
for everyone not yet called."""

from __future__ import annotations

import csv
import io

from core.calling import batches
from core.db import CALLS
from core.review import exports
from core.review.agreement import agreement
from core.review.job_pipeline import job_pipeline, not_called_ids
from core.review.pipeline import Stage
from tests.support.apptest import make_user
from tests.support.pipeline_seed import seed_pipeline


def test_each_candidate_at_their_stage_with_knockouts_and_the_call(db):
    seeded = seed_pipeline(db)
    view = job_pipeline(db, make_user(db, "recruiter"), seeded["job"], zone="Europe/Paris")
    by_name = {r.name: r for r in view.rows}
    assert {n: r.stage for n, r in by_name.items()} == {
        "Ann Archer": Stage.ADVANCED, "Bob Stone": Stage.REJECTED, "Cara Diaz": Stage.AWAITING_REVIEW,
        "Hank Hold": Stage.ON_HOLD, "Dan Evans": Stage.NOT_CALLED, "Eve Fox": Stage.DO_NOT_CALL,
        "Gus Hale": Stage.RETRY, "Ivy Unknown": Stage.UNKNOWN, "Hana Human": Stage.ASKED_FOR_HUMAN,
    }
    ann, bob, cara, gus = (by_name[n] for n in ("Ann Archer", "Bob Stone", "Cara Diaz", "Gus Hale"))
    assert [r.knockouts.text for r in (ann, bob, cara)] == ["2 of 2", "1 of 2", "1 of 2"]
    assert ann.knockouts.all_passed and bob.knockouts.some_failed
    assert (ann.summary, ann.reviewer, ann.call_id) == ("Strong fit.", "rita", seeded["calls"]["Ann Archer"])
    assert ann.phone == "+12015550101"
    # The queued retry: its call, its due time in the user's zone and the candidate's beside it.
    assert gus.call_id == seeded["calls"]["Gus Hale"]
    assert gus.stage_text.startswith("retry at ") and "CET (" in gus.stage_text
    assert " for the candidate, Chicago)" in gus.stage_text
    assert gus.stage_text.endswith(", attempt 2 of 3")
    assert by_name["Dan Evans"].call_id is None
    assert view.questions[0] == ("years", "How many years have you driven a forklift?")
    result = agreement(view.rows)
    assert (result.agreed, result.decided, result.held) == (2, 2, 1)


def test_a_viewer_sees_no_phone_numbers(db):
    seeded = seed_pipeline(db)
    view = job_pipeline(db, make_user(db, "viewer"), seeded["job"])
    assert view.rows and all(r.phone == "" for r in view.rows)


def _csv(raw: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_the_export_carries_typed_answers_knockouts_and_the_stage(db):
    seeded = seed_pipeline(db)
    db[CALLS].update_one({"_id": seeded["calls"]["Bob Stone"]},
                         {"$set": {"agent_answers.years.answer": "=1+1 years"}})
    rows = {r["Candidate"]: r for r in _csv(exports.export_job_csv(db, make_user(db, "admin"),
                                                                        seeded["job"]))}
    ann, bob, cara = rows["Ann Archer"], rows["Bob Stone"], rows["Cara Diaz"]
    assert (ann["Q1 answer"], ann["Q1 value"], ann["Q1 knockout"], ann["Q1 rating"]) == (
        "5 years on the docks", "5 years", "passed", "5")
    assert (ann["Q2 value"], ann["Q2 knockout"], ann["Q2 rating"]) == ("yes", "passed", "4")
    assert ann["Q3 knockout"] == "" and ann["Knockouts passed"] == "2 of 2"
    assert (bob["Q1 knockout"], bob["Knockouts passed"], bob["Pipeline stage"]) == ("not passed", "1 of 2",
                                                                                     "rejected")
    assert bob["Q1 answer"].startswith("'=")  # never a live formula in a spreadsheet
    assert (cara["Q2 value"], cara["Pipeline stage"]) == ("no", "screened, awaiting review")
    assert rows["Ivy Unknown"]["Pipeline stage"] == "outcome unknown"
    # Gus's ended no-answer call speaks for him; his stage is the queued retry.
    assert rows["Gus Hale"]["Pipeline stage"].startswith("retry at ")


def test_launch_for_everyone_not_yet_called_previews_then_queues(db):
    seeded = seed_pipeline(db)
    recruiter = make_user(db, "recruiter")
    ids = not_called_ids(db, recruiter, seeded["job"])
    assert ids == [seeded["ids"]["Dan Evans"]]
    # A do-not-call, a request for a person and an open call are skipped for their reasons,
    # through the batch's own checks (the preview and the batch give the same reasons).
    with_blocked = [*ids, *(seeded["ids"][n] for n in ("Eve Fox", "Hana Human", "Gus Hale"))]
    plan = batches.preview_batch(db, recruiter, seeded["job"], with_blocked)
    assert plan.to_call == 1
    assert plan.skipped == {"on the do-not-call list": 1, "already has an open call for this job": 1,
                            "asked for a person on an earlier call for this job": 1}
    blocked = batches.create_batch(db, recruiter, seeded["job"], with_blocked[1:])
    assert blocked.queued == 0
    assert sorted(s.reason for s in blocked.skipped) == sorted(r for r in plan.skipped)
    batch = batches.create_batch(db, recruiter, seeded["job"], ids)
    assert (batch.queued, batch.skipped_count) == (1, 0)
    view = job_pipeline(db, recruiter, seeded["job"])
    assert next(r for r in view.rows if r.name == "Dan Evans").stage == Stage.SCHEDULED
    assert not_called_ids(db, recruiter, seeded["job"]) == []
