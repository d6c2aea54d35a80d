"""Review a real sandbox call in headless Chromium: recording plays, transcript shows, decision saves."""

from __future__ import annotations

import time

import pytest

from core import auth
from core.calling import launch, refusals
from core.db import CALLS
from core.people import candidates, jobs
from tests.e2e.conftest import ADMIN_PASSWORD
from tests.support.browser import choose, working_zone

pytestmark = pytest.mark.e2e


def _completed_call(db) -> str:
    """Launch one sandbox call through core and wait for its transcript (sandbox at 40× speed)."""
    admin = auth.get_user(db, "admin")
    job = jobs.create_job(db, admin, title="E2E review job", company="Acme")
    zone = working_zone(db, job.id)
    cand = candidates.add_candidate(
        db, admin, name="Rita Review", phone="+12015550111", consent=True, timezone=zone, job_ids=[job.id]
    )
    try:
        launched = launch.launch_call(db, admin, cand.id, job.id)
    except refusals.LaunchRefused as exc:
        pytest.skip(f"the sandbox call could not be launched here: {exc}")
    call_id = launched.call.id
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        doc = db[CALLS].find_one({"_id": call_id}, {"status": 1, "transcript_status": 1})
        if doc["status"] == "completed" and doc.get("transcript_status") == "stored":
            return call_id
        time.sleep(0.5)
    raise AssertionError(f"call did not complete with a transcript: {db[CALLS].find_one({'_id': call_id})}")



def test_open_listen_read_and_decide(stack, page, artifacts_dir):
    call_id = _completed_call(stack.db)
    # The deep link survives the log-in form: the page opens on the call after signing in.
    page.goto(f"{stack.dashboard_url}/transcripts?call={call_id}")
    page.get_by_label("Username").fill("admin")
    page.get_by_role("textbox", name="Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.get_by_text("Rita Review · E2E review job").wait_for()
    # An address from before calls had their own page opens the call's page.
    assert f"/call?call={call_id}" in page.url
    # The transcript: the agent's greeting and the candidate's first words, as plain text.
    page.get_by_text("AI assistant calling for").first.wait_for()
    page.get_by_text("Hello?").first.wait_for()

    audio = page.locator("audio")
    audio.wait_for(timeout=30000)
    src = audio.get_attribute("src")
    # Served by the sidecar with a short-lived signed link, never by Streamlit's open /media/.
    assert src and src.startswith(f"{stack.sidecar_url}/recordings/{call_id}?token=")
    response = page.request.get(src)
    assert response.status == 200
    assert response.headers["content-type"].startswith("audio/")
    assert len(response.body()) > 1000
    assert page.request.get(src.split("?")[0]).status == 403  # no token, no recording

    page.get_by_text("Advance", exact=True).click()
    page.get_by_text("Overall rating").wait_for()
    choose(page, "Overall rating", "4 / 5")
    page.get_by_role("button", name="Save review").click()
    page.get_by_text("Review saved.").wait_for()
    assert stack.db[CALLS].find_one({"_id": call_id})["review"]["decision"] == "advance"
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts_dir / "review.png"), full_page=True)

    # Back in the list, only this call of the job is decided "advance" (other browser tests
    # share the stack and decide calls of their own jobs).
    # The sidebar's link leads from a call back to the list (the call has a page of its own).
    page.locator("[data-testid='stSidebarNav']").get_by_text("Calls & transcripts").click()
    page.get_by_role("heading", name="Calls & transcripts").wait_for()
    assert "call=" not in page.url
    choose(page, "Job", "E2E review job")
    choose(page, "Decision", "Advance")
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_text("Page 1 of 1 · 1 calls").wait_for()
