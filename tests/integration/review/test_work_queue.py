"""Home as a work queue: awaiting review per job with the call to start at, who asked for a
person, calls running and waiting (times on both clocks), each job's progress in one line."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.review.pipeline import Stage
from core.review.work_queue import progress_sentence, work_queue
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts
from tests.support.pipeline_seed import seed_pipeline


def test_the_queue_lists_what_needs_someone_and_when(db) -> None:
    seeded = seed_pipeline(db)
    queue = work_queue(db, make_user(db, "recruiter"), zone="Europe/Paris")
    job = next(j for j in queue.jobs if j.job_id == seeded["job"])
    assert job.awaiting == 1 and queue.awaiting_review == 1
    assert job.first_awaiting_call == seeded["calls"]["Cara Diaz"]
    assert [i.name for i in queue.asked_for_person] == ["Hana Human"]
    assert queue.asked_for_person[0].text == "asked for a person: prefers to talk to a person"
    waiting = {i.name: i for i in queue.waiting}
    assert list(waiting) == ["Gus Hale"]
    gus = waiting["Gus Hale"].text
    assert gus.startswith("retry at ") and "for the candidate, Chicago" in gus
    assert queue.running == []
    assert progress_sentence(job) == (
        "9 candidates: 1 not called, 1 screened, awaiting review, 1 advanced, 1 on hold, 1 rejected, "
        "4 elsewhere (calling, waiting or stopped)")
    assert job.counts[Stage.DO_NOT_CALL] == 1


def test_home_shows_the_queue_with_links_and_no_ids(db) -> None:
    seed_pipeline(db)
    at = signed_in(AppTest.from_file(page_path("home"), default_timeout=TIMEOUT), make_user(db, "recruiter"))
    at.run()
    assert not at.exception
    shown = texts(at)
    for section in ("Awaiting review", "Asked for a person", "Calls running and waiting", "Jobs"):
        assert section in shown
    assert {m.label: m.value for m in at.metric}["Awaiting review"] == "1"
    calls = next(df.value for df in at.dataframe if "What" in df.value.columns and
                 df.value["Candidate"].tolist() == ["Gus Hale"])
    assert calls.iloc[0]["Open"].startswith("call?call=")
