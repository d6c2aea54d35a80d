"""A viewer typing addresses by hand in a real browser: deep links to a candidate, a call and the
admin pages show no more than the viewer's own view (masked phone, no email, no notes)."""

from __future__ import annotations

import pytest

from core import auth
from core.people import candidates, jobs
from tests.e2e.conftest import login
from tests.support.review_seed import add_call

pytestmark = pytest.mark.e2e

PHONE_DIGITS = "2125550157"
EMAIL = "dana.private@example.org"
NOTES = "Prefers mornings; sister works here"


def _body(page) -> str:
    page.wait_for_timeout(1200)  # let the script finish its run after the first paint
    return page.locator("body").inner_text()


def test_a_viewers_deep_links_show_only_the_viewers_view(stack, page, artifacts_dir) -> None:
    admin = auth.get_user(stack.db, "admin")
    job = jobs.create_job(stack.db, admin, title="Night dispatcher", company="Acme")
    cand = candidates.add_candidate(stack.db, admin, name="Dana Deeplink", phone="+1 212 555 0157",
                                    email=EMAIL, notes=NOTES, consent=True, job_ids=[job.id])
    call_id = add_call(stack.db, cand.id, job.id)
    auth.create_user(stack.db, "vic", "vics-password-12", "viewer", actor=auth.OPERATOR)
    login(page, stack, "vic", "vics-password-12")

    page.goto(f"{stack.dashboard_url}/jobs_candidates?candidate={cand.id}")
    page.get_by_text("Dana Deeplink").first.wait_for()
    shown = _body(page)
    page.screenshot(path=str(artifacts_dir / "viewer-candidate-deep-link.png"), full_page=True)
    assert PHONE_DIGITS not in shown.replace(" ", "").replace("-", "")
    assert "0157" in shown  # the masked number keeps its last digits: the page did render
    assert EMAIL not in shown and NOTES not in shown

    for address in (f"call?call={call_id}", f"transcripts?call={call_id}"):  # the new and the old
        page.goto(f"{stack.dashboard_url}/{address}")
        page.get_by_text("Dana Deeplink").first.wait_for()
        shown = _body(page)
        assert PHONE_DIGITS not in shown.replace(" ", "").replace("-", "")
        assert EMAIL not in shown and NOTES not in shown

    # Pages a viewer may not open are not served to them, whatever the address says.
    # (Both markers are what an admin sees first on those pages.)
    # The address says why instead of silently landing on Home, and the menu does not list it.
    refused = (("users", "Add a user", "Users"), ("launch_calls", "One call now", "Launch calls"))
    for path, marker, title in refused:
        page.goto(f"{stack.dashboard_url}/{path}")
        page.get_by_text(f"does not give access to {title}").wait_for()
        shown = _body(page)
        assert marker not in shown, path
        assert "Your role (viewer)" in shown
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert title not in nav and "Calls & transcripts" in nav
    page.screenshot(path=str(artifacts_dir / "viewer_refused_page.png"), full_page=True)
