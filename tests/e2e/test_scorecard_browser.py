"""The review scorecard in headless Chromium: ▶ moves the recording to an answer, the rating
beside its question saves, and Save & next opens the job's next call awaiting review."""

from __future__ import annotations

import time

import pytest

from core import auth
from core.calling import launch, refusals
from core.db import CALLS
from core.people import candidates, jobs
from tests.e2e.conftest import login
from tests.support.browser import choose, working_zone

pytestmark = pytest.mark.e2e


def _two_completed_calls(db) -> tuple[str, str]:
    """Two sandbox calls of one new job, launched one after the other, both with transcripts."""
    admin = auth.get_user(db, "admin")
    job = jobs.create_job(db, admin, title="E2E scorecard job", company="Acme")
    zone = working_zone(db, job.id)
    ids = []
    for name, phone in (("Sam First", "+12015550112"), ("Nia Next", "+12015550113")):
        cand = candidates.add_candidate(db, admin, name=name, phone=phone, consent=True, timezone=zone,
                                        job_ids=[job.id])
        try:
            ids.append(launch.launch_call(db, admin, cand.id, job.id).call.id)
        except refusals.LaunchRefused as exc:
            pytest.skip(f"the sandbox call could not be launched here: {exc}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        docs = list(db[CALLS].find({"_id": {"$in": ids}}, {"status": 1, "transcript_status": 1}))
        if all(d["status"] == "completed" and d.get("transcript_status") == "stored" for d in docs):
            return ids[0], ids[1]
        time.sleep(0.5)
    raise AssertionError(f"calls did not complete with transcripts: {docs}")


def test_play_an_answer_rate_it_and_save_and_next(stack, page, artifacts_dir):
    first, second = _two_completed_calls(stack.db)
    login(page, stack)
    page.goto(f"{stack.dashboard_url}/transcripts?call={first}")
    page.get_by_text("Sam First · E2E scorecard job").wait_for()
    page.get_by_role("heading", name="Scorecard", exact=True).wait_for()
    audio = page.locator("audio")
    audio.wait_for(timeout=30000)
    src = audio.get_attribute("src")
    assert src and src.startswith(f"{stack.sidecar_url}/recordings/{first}?token=")

    # ▶ on an answer: the one player starts there (Streamlit sets currentTime = start_time).
    plays = page.get_by_role("button", name="▶ Play from")
    assert plays.count() >= 2
    label = plays.nth(1).inner_text()
    minutes, seconds = label.rsplit(" ", 1)[1].split(":")
    start = int(minutes) * 60 + int(seconds)
    assert start > 0
    plays.nth(1).click()
    page.get_by_text(f"Playing from {minutes}:{seconds}.").wait_for()
    assert page.locator("audio").count() == 1  # still one player
    assert f"playing from {minutes}:{seconds}" in (page.locator("audio").get_attribute("aria-label") or "")
    page.wait_for_function(
        "start => { const a = document.querySelector('audio'); return a && a.currentTime >= start - 0.5; }",
        arg=start,
        timeout=15000,
    )
    assert page.locator("audio").get_attribute("src") == src  # the same signed link, only moved

    # Rate the first question in its own row, decide, and Save & next.
    choose(page, "Rating, question 1", "4 / 5")
    page.wait_for_timeout(500)
    page.get_by_text("On hold", exact=True).click()
    choose(page, "Overall rating", "3 / 5")
    page.set_viewport_size({"width": 1400, "height": 3000})
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts_dir / "scorecard.png"), full_page=True)
    page.get_by_role("button", name="Save & next").click()
    page.get_by_text("Nia Next · E2E scorecard job").wait_for()
    page.get_by_text("Review saved.").wait_for()
    assert f"call={second}" in page.url
    review = stack.db[CALLS].find_one({"_id": first})["review"]
    assert (review["decision"], review["overall"], list(review["ratings"].values())) == ("hold", 3, [4])
    page.screenshot(path=str(artifacts_dir / "scorecard-next.png"), full_page=True)
