"""Log in through headless Chromium against the stack as `make run` starts it."""

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def test_login_lands_on_home_and_shows_sandbox_banner(stack, page, artifacts_dir):
    login(page, stack)
    page.get_by_text("Sandbox mode").first.wait_for()
    page.get_by_text("Calls in progress").first.wait_for()
    # The sidebar lists the admin's pages, including Users.
    page.get_by_role("link", name="Users").wait_for()
    page.screenshot(path=str(artifacts_dir / "home.png"), full_page=True)


def test_wrong_password_stays_on_login(stack, page, artifacts_dir):
    page.goto(stack.dashboard_url)
    form = page.locator("[data-testid='stForm']").first
    form.wait_for()
    # A sensible width on a wide window: about a third of it, centred.
    box, width = form.bounding_box(), page.viewport_size["width"]
    assert box["width"] < 0.45 * width and box["x"] > 0.2 * width
    page.get_by_label("Username").fill("admin")
    page.get_by_role("textbox", name="Password").fill("wrong-password")
    page.get_by_role("button", name="Login").click()
    page.get_by_text("incorrect").wait_for()
    assert page.get_by_role("link", name="Users").count() == 0
    page.screenshot(path=str(artifacts_dir / "login.png"))


def test_sidecar_health_under_gunicorn(stack):
    import requests

    assert requests.get(f"{stack.sidecar_url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{stack.sidecar_url}/readyz", timeout=5).status_code == 200


def test_deep_link_opened_signed_out_lands_on_its_page_after_login(stack, page):
    page.goto(f"{stack.dashboard_url}/voices?from=link")
    page.get_by_label("Username").fill("admin")
    from tests.e2e.conftest import ADMIN_PASSWORD

    page.get_by_role("textbox", name="Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.get_by_role("heading", name="Voices").wait_for()
    assert page.url.endswith("/voices?from=link")
