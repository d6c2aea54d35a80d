"""The pipeline page through AppTest: funnel, rows, filters, the deep link, visibility, launch."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from core.db import CALLS
from tests import factories
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts
from tests.support.pipeline_seed import seed_pipeline
from tests.support.review_seed import add_job

PAGE = page_path("pipeline")


def app(user, job_id: str | None = None) -> AppTest:
    at = signed_in(AppTest.from_file(PAGE, default_timeout=TIMEOUT), user)
    if job_id is not None:
        at.query_params["job"] = job_id
    return at.run()


def table(at: AppTest) -> list[dict]:
    # The candidates' table is the one with a Stage column (the agreement tables have none).
    frame = next(df.value for df in at.dataframe if "Stage" in df.value.columns)
    return frame.to_dict("records")


def funnel(at: AppTest) -> dict:
    chart = next(el for el in at.get("plotly_chart"))
    data = json.loads(chart.proto.spec)["data"][0]
    return dict(zip(data["y"], data["x"], strict=True))


def test_funnel_rows_links_and_filters(db):
    seeded = seed_pipeline(db)
    add_job(db, "Another job")  # the deep link, not the first job, picks the pipeline
    at = app(make_user(db, "recruiter"), seeded["job"])
    assert not at.exception
    assert at.selectbox(key="pipeline.job").value == seeded["job"]
    assert funnel(at) == {"not called": 1, "retry scheduled": 1, "outcome unknown": 1,
                          "screened, awaiting review": 1, "on hold": 1, "rejected": 1, "advanced": 1,
                          "asked for a human": 1, "do-not-call": 1}
    rows = {r["Candidate"]: r for r in table(at)}
    assert len(rows) == 9
    ann = rows["Ann Archer"]
    assert (ann["Stage"], ann["Knockouts passed"], ann["Summary"], ann["Reviewer"]) == (
        "advanced", "2 of 2", "Strong fit.", "rita")
    assert ann["Call"] == f"call?call={seeded['calls']['Ann Archer']}"
    assert ann["Phone"] == "+12015550101"
    assert rows["Dan Evans"]["Call"] == ""  # no call, no link: an empty cell
    assert "Knockouts agreed with 2 of 2 decisions (1 on hold, counted apart)." in texts(at)

    at.multiselect(key="pipeline.stages").set_value(["advanced", "rejected"]).run()
    assert sorted(r["Candidate"] for r in table(at)) == ["Ann Archer", "Bob Stone"]
    at.toggle(key="pipeline.passed").set_value(True).run()
    assert [r["Candidate"] for r in table(at)] == ["Ann Archer"]
    at.multiselect(key="pipeline.stages").set_value([]).run()
    at.toggle(key="pipeline.passed").set_value(False).run()
    at.text_input(key="pipeline.search").input("hale").run()
    assert [r["Candidate"] for r in table(at)] == ["Gus Hale"]
    assert [b.label for b in at.get("download_button")] == ["Download pipeline CSV",
                                                           "Download compliance CSV"]


def test_a_viewer_sees_no_phone_and_no_launch(db):
    seeded = seed_pipeline(db)
    at = app(make_user(db, "viewer"), seeded["job"])
    assert not at.exception
    rows = table(at)
    assert rows and all("Phone" not in r for r in rows)
    assert "+12015550101" not in str(rows)
    assert not [b for b in at.button if b.label.startswith("Call everyone")]


def test_launch_for_everyone_not_yet_called_says_how_many_first(db):
    seeded = seed_pipeline(db)
    at = app(make_user(db, "recruiter"), seeded["job"])
    launch = next(b for b in at.button if b.label.startswith("Call everyone not yet called"))
    assert launch.label == "Call everyone not yet called (1)…"
    launch.click().run()
    assert "**1** of 1 candidate not yet called" in texts(at)
    # The dialog only shows the plan; nothing is queued until it is confirmed (the confirmation
    # reruns the dialog as a fragment, which AppTest does not replay: the browser test and the
    # core test of create_batch cover the queueing).
    assert db[CALLS].count_documents({"candidate_id": seeded["ids"]["Dan Evans"]}) == 0
    assert [b.label for b in at.button if b.label == "Yes, queue them"] == ["Yes, queue them"]


def test_no_reviews_yet_and_a_bad_link(db):
    job = add_job(db, "Night cook")
    factories.insert_candidate(db, name="Zoe Young", job_ids=[job])
    at = app(make_user(db, "viewer"), "bad link!")
    assert not at.exception
    assert "That job link is not valid" in texts(at)
    assert "Not enough reviews yet" in texts(at)
    assert [r["Stage"] for r in table(at)] == ["not called"]
