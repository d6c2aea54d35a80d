"""A hostile candidate name in the browser: shown as text, and no remote image is ever fetched
(a tracking pixel in a name or notes once was, by the viewer's browser)."""

from __future__ import annotations

import pytest

from core import auth
from core.people import candidates, jobs
from tests.e2e.conftest import login
from tests.support.pixel import pixel_server

pytestmark = pytest.mark.e2e


def test_no_remote_image_is_requested_for_hostile_candidate_text(stack, page, artifacts_dir) -> None:
    with pixel_server() as served:
        pixel = served.url
        admin = auth.get_user(stack.db, "admin")
        job = jobs.create_job(stack.db, admin, title=f"Hostile job ![j]({pixel}/job.png)", company="Acme")
        cand = candidates.add_candidate(
            stack.db, admin, name=f"Eve ![px]({pixel}/name.png) <img src='{pixel}/html.png'> evil.com",
            phone="+1 212 555 0142", email="eve@evil.com", consent=True, job_ids=[job.id],
            notes=f"**notes** ![n]({pixel}/notes.png)")
        login(page, stack)
        page.goto(f"{stack.dashboard_url}/jobs_candidates?candidate={cand.id}")
        page.get_by_role("button", name="Back to the lists").wait_for()
        page.wait_for_timeout(1500)  # time for any image to be requested
        page.screenshot(path=str(artifacts_dir / "hostile-candidate.png"), full_page=True)
        page.goto(f"{stack.dashboard_url}/jobs_candidates")
        page.get_by_role("tab", name="Candidates").click()
        page.locator("[data-testid^='stBaseButton']", has_text="Open").wait_for()
        page.wait_for_timeout(1500)
        assert served.hits == [], f"the browser fetched {served.hits}"
        assert page.locator(f"img[src^='{pixel}']").count() == 0
        # The name is there, as the text that was typed.
        page.get_by_text("Edit Eve ![px]", exact=False).first.wait_for()
