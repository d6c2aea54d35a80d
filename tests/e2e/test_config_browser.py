"""Global settings → job override → effective value, and a voice preview, in Chromium."""

import pytest
import requests
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from core import auth
from core.agent import hours_view
from core.agent import settings as agent_settings
from core.people import jobs
from tests.e2e.conftest import login
from tests.support.browser import settings_row

pytestmark = pytest.mark.e2e


def test_global_edit_job_override_effective_value_and_marks(stack, page, artifacts_dir):
    admin = auth.get_user(stack.db, "admin")
    job = jobs.create_job(stack.db, admin, title="Line cook", company="Placeholder Co")
    login(page, stack)

    page.goto(f"{stack.dashboard_url}/global_settings")
    company = page.get_by_label("Company name", exact=True)
    company.fill("Globex Hiring")
    company.press("Enter")  # no form: the entry reruns the page and the save bar wakes up
    page.get_by_role("button", name="Review changes").first.click()
    page.get_by_role("button", name="Save these changes").click()
    page.get_by_text("saved by admin").wait_for()

    page.goto(f"{stack.dashboard_url}/job_settings?job={job.id}")
    row = settings_row(page, "Maximum call length (minutes)")
    row.get_by_text("Inherited").wait_for()
    # An inherited field is locked and shows the global value.
    company = settings_row(page, "Company name").get_by_label("Company name", exact=True)
    assert company.input_value() == "Globex Hiring" and company.is_disabled()
    field = row.get_by_label("Maximum call length (minutes)", exact=True)
    assert field.is_disabled()
    row.get_by_text("Override", exact=True).click()
    expect(field).to_be_enabled()
    field.fill("7")
    field.press("Tab")
    page.get_by_role("button", name="Review changes").first.click()
    page.get_by_role("button", name="Save these changes").click()
    page.get_by_role("button", name="Save these changes").wait_for(state="detached")

    row = settings_row(page, "Maximum call length (minutes)")
    row.get_by_text("Overridden").wait_for()
    assert settings_row(page, "Company name").get_by_text("Inherited").count() == 1
    page.get_by_role("tab", name="Effective config & prompt").click()
    page.get_by_text("Differences from the global settings").wait_for()
    page.screenshot(path=str(artifacts_dir / "job_settings_effective.png"), full_page=True)
    page.get_by_text("Line cook").first.wait_for()  # the prompt rendered for a sample candidate
    page.get_by_role("tab", name="Overrides").click()
    page.screenshot(path=str(artifacts_dir / "job_settings.png"), full_page=True)
    effective = stack.db["job_voice_configs"].find_one({"job_id": job.id})
    assert effective is not None and "7" in str(effective)


def _open_parts(page) -> int:
    """How many open parts of hours the weekly picture draws (one bar per open part of an hour)."""
    return page.locator(".js-plotly-plot .shapelayer path").count()


def _caption(page, text: str):
    """The weekly picture's sentence (the history table may hold the same words)."""
    return page.locator('[data-testid="stCaptionContainer"]', has_text=text).first


def _pick_time(page, label: str, value: str) -> None:
    # st.time_input is a segmented field: type the hour, then the minutes, then leave it.
    field = page.get_by_label(label, exact=True)
    field.get_by_role("spinbutton").first.click()
    page.keyboard.type(value.replace(":", ""))
    page.keyboard.press("Tab")


def test_calling_hours_edited_with_time_inputs_change_the_weekly_picture(stack, page, artifacts_dir):
    login(page, stack)
    page.goto(f"{stack.dashboard_url}/global_settings")
    _caption(page, "Mon–Fri 09:00–18:00; no calls on Sat and Sun.").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    assert _open_parts(page) == 5 * 9  # weekdays 09:00–18:00, a bar per hour
    saturday = page.get_by_label("Sat from", exact=True)
    assert saturday.is_disabled()
    # The day's tick unlocks its times at once (it is outside any form).
    page.locator(".st-key-global_settings-form-calling_hours-sat-on").get_by_text("Sat").click()
    expect(saturday).to_be_enabled()
    _pick_time(page, "Sat from", "10:30")
    _pick_time(page, "Sat to", "14:15")
    _caption(page, "Mon–Fri 09:00–18:00; Sat 10:30–14:15; no calls on Sun.").wait_for()
    page.get_by_role("button", name="Review changes").first.click()
    page.get_by_text("Confirm your changes").wait_for()
    page.get_by_role("button", name="Save these changes").click()
    page.get_by_role("button", name="Save these changes").wait_for(state="detached")
    stored = agent_settings.get_global_config(stack.db).calling_hours
    assert hours_view.describe_hours(stored) == "Mon–Fri 09:00–18:00; Sat 10:30–14:15; no calls on Sun."
    page.goto(f"{stack.dashboard_url}/global_settings")  # a fresh page: what was stored
    _caption(page, "Mon–Fri 09:00–18:00; Sat 10:30–14:15; no calls on Sun.").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    # Saturday adds 10:30–11, 11–12, 12–13, 13–14 and 14–14:15: five more bars, two of them partial.
    expect(page.locator(".js-plotly-plot .shapelayer path")).to_have_count(5 * 9 + 5)
    page.get_by_text("The week at a glance").first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts_dir / "global_settings_hours.png"))


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


def _asks_before_closing(page) -> bool:
    """Close the tab as a person would; True if the browser asked "Leave site?" first (dismissed,
    so the tab stays open)."""
    asked: list[str] = []

    def answer(dialog) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", answer)
    page.close(run_before_unload=True)
    for _ in range(30):  # the question, if any, comes asynchronously
        if asked or page.is_closed():
            break
        try:
            page.wait_for_timeout(100)  # (lets Playwright deliver the dialog event)
        except PlaywrightError:
            break
    page.remove_listener("dialog", answer)
    return "beforeunload" in asked


def test_closing_the_tab_with_an_unsaved_draft_asks_first(stack, page, artifacts_dir):
    login(page, stack)
    page.goto(f"{stack.dashboard_url}/global_settings")
    company = page.get_by_label("Company name", exact=True)
    company.fill("Draft Hiring Co")
    company.press("Enter")
    page.get_by_text("Unsaved draft").first.wait_for()
    # The guard is drawn after the page's script: wait until it has armed the window.
    page.wait_for_function("() => window.__vscUnsavedDraft === true")
    assert _asks_before_closing(page)
    assert not page.is_closed()  # dismissed: the person stays, the draft with them

    page.get_by_role("button", name="Discard draft").first.click()
    expect(page.get_by_text("Unsaved draft")).to_have_count(0)
    page.wait_for_function("() => window.__vscUnsavedDraft === false")
    assert not _asks_before_closing(page)
    assert page.is_closed()
