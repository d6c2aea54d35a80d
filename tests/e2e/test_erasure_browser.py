"""An admin erases a candidate in the browser: the panel names what goes, a wrong name is refused
with nothing changed, the right one erases and says so; the candidate's link then says so too."""

from __future__ import annotations

import pytest

from core import auth
from core.db import CALLS, ERASURES, utcnow
from core.people import candidates, jobs
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

NAME = "Bruno Erasmus-Vale"


def test_an_admin_erases_a_candidate_through_the_panel(stack, page, artifacts_dir) -> None:
    admin = auth.get_user(stack.db, "admin")
    job = jobs.create_job(stack.db, admin, title="Night picker", company="Acme")
    cand = candidates.add_candidate(stack.db, admin, name=NAME, phone="+1 212 555 0144", consent=True,
                                    job_ids=[job.id], notes="Met Bruno at the depot open day")
    now = utcnow()  # an ended call without provider ids: nothing to delete at the providers
    stack.db[CALLS].insert_one({"_id": f"e2e-erase-{cand.id}", "candidate_id": cand.id, "job_id": job.id,
                                "status": "completed", "created_at": now, "ended_at": now,
                                "summary": "Bruno is keen on nights."})
    login(page, stack)
    page.goto(f"{stack.dashboard_url}/jobs_candidates?candidate={cand.id}")
    page.get_by_text("Candidate's data: download or erase").click()
    page.get_by_role("button", name="Erase this candidate…").click()
    page.get_by_text("This cannot be undone").wait_for()
    for line in ("every call's transcript, recording", "the calls at Ultravox and Twilio"):
        assert page.get_by_text(line, exact=False).count() == 1

    why = page.get_by_label("Why? (kept after the erasure", exact=False)
    typed = page.get_by_label("Type the candidate's name", exact=False)
    why.fill("Request by letter, ticket 512")
    typed.fill("Bruno")
    page.get_by_role("button", name="Erase for good").click()
    page.get_by_text("The name typed does not match").wait_for()
    assert candidates.get_candidate(stack.db, cand.id) is not None  # nothing erased

    typed.fill(NAME)
    page.screenshot(path=str(artifacts_dir / "erasure-panel.png"), full_page=True)
    page.get_by_role("button", name="Erase for good").click()
    page.get_by_text("The candidate was erased.").wait_for()
    page.screenshot(path=str(artifacts_dir / "erasure-done.png"), full_page=True)
    assert candidates.get_candidate(stack.db, cand.id) is None
    tomb = stack.db[ERASURES].find_one({"candidate_id": cand.id})
    assert tomb["state"] == "done" and tomb["reason"] == "Request by letter, ticket 512"
    call = stack.db[CALLS].find_one({"candidate_id": cand.id})
    assert call["erased_at"] and "Bruno" not in str(call)

    # The old link says what happened, and shows nothing of them.
    page.goto(f"{stack.dashboard_url}/jobs_candidates?candidate={cand.id}")
    page.get_by_text("This candidate was erased on", exact=False).wait_for()
    assert page.get_by_text(NAME).count() == 0
