"""Global settings → job override → effective value, and a voice preview, in Chromium."""

import pytest
import requests

from core import auth
from core.people import jobs
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def _row(page, label: str):
    """The job-settings row (badge, override toggle, input) of one field."""
    return page.locator('[data-testid="stHorizontalBlock"]').filter(
        has=page.get_by_label(label, exact=True)
    ).last


def test_global_edit_job_override_effective_value_and_marks(stack, page, artifacts_dir):
    admin = auth.get_user(stack.db, "admin")
    job = jobs.create_job(stack.db, admin, title="Line cook", company="Placeholder Co")
    login(page, stack)

    page.goto(f"{stack.dashboard_url}/global_settings")
    page.get_by_label("Company name", exact=True).fill("Globex Hiring")
    page.get_by_role("button", name="Review changes").click()
    page.get_by_role("button", name="Save these changes").click()
    page.get_by_text("saved by admin").wait_for()

    page.goto(f"{stack.dashboard_url}/job_settings?job={job.id}")
    row = _row(page, "Maximum call length (minutes)")
    row.get_by_text("Inherited").wait_for()
    assert _row(page, "Company name").get_by_text("Global: Globex Hiring").count() == 1
    row.get_by_text("Override").click()
    field = row.get_by_label("Maximum call length (minutes)", exact=True)
    field.fill("7")
    field.press("Tab")
    page.get_by_role("button", name="Review changes").click()
    page.get_by_role("button", name="Save these changes").click()
    page.get_by_role("button", name="Save these changes").wait_for(state="detached")

    row = _row(page, "Maximum call length (minutes)")
    row.get_by_text("Overridden").wait_for()
    assert _row(page, "Company name").get_by_text("Inherited").count() == 1
    page.get_by_role("tab", name="Effective config & prompt").click()
    page.get_by_text("Differences from the global settings").wait_for()
    page.screenshot(path=str(artifacts_dir / "job_settings_effective.png"), full_page=True)
    page.get_by_text("Line cook").first.wait_for()  # the prompt rendered for a sample candidate
    page.get_by_role("tab", name="Overrides").click()
    page.screenshot(path=str(artifacts_dir / "job_settings.png"), full_page=True)
    effective = stack.db["job_voice_configs"].find_one({"job_id": job.id})
    assert effective is not None and "7" in str(effective)


def test_voice_preview_plays_audio_served_by_the_dashboard(stack, page, artifacts_dir):
    login(page, stack)
    page.goto(f"{stack.dashboard_url}/voices")
    page.get_by_role("button", name="Preview").first.click()
    audio = page.locator("audio").first
    audio.wait_for()
    src = audio.get_attribute("src")
    assert src and "8002" not in src and "api" not in src  # never a provider URL
    resp = page.request.get(src if src.startswith("http") else f"{stack.dashboard_url}{src}")
    assert resp.status == 200 and resp.headers["content-type"].startswith("audio/")
    assert len(resp.body()) > 1000
    page.screenshot(path=str(artifacts_dir / "voices.png"), full_page=True)
    assert requests.get(f"{stack.sidecar_url}/healthz", timeout=5).ok
