"""An attacker at the log-in form and with a stolen cookie, against the stack as `make run` starts it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from core import auth
from core.db import AUDIT_LOG
from tests.e2e.conftest import ROOT, Stack, login

pytestmark = pytest.mark.e2e

COOKIE = "vsc_auth"


def _try_login(page, stack: Stack, username: str, password: str) -> None:
    page.goto(stack.dashboard_url)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Login").click()


def _on_login_form(page) -> bool:
    """True once the page shows the log-in form and nothing of the app."""
    page.get_by_role("textbox", name="Password").wait_for()
    # Streamlit removes the previous run's elements only when the new run ends: wait for it.
    expect(page.get_by_role("heading", name="Voice Screening Console", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    return True


def _cookie(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == COOKIE)


def _open_with_cookie(browser, stack: Stack, value: str):
    """A fresh browser that presents only the given log-in cookie."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_cookies([{"name": COOKIE, "value": value, "url": stack.dashboard_url}])
    pg = context.new_page()
    pg.set_default_timeout(20000)
    pg.goto(stack.dashboard_url)
    return context, pg


def _home_or_form(pg) -> str:
    pg.get_by_role("heading", name="Voice Screening Console", exact=True).or_(
        pg.get_by_role("textbox", name="Password")
    ).first.wait_for()
    return "form" if pg.get_by_role("textbox", name="Password").count() else "home"


def _audited(stack: Stack, username: str, action: str) -> int:
    return stack.db[AUDIT_LOG].count_documents({"entity_id": username, "action": action})


def _wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _manage(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "core.manage", *args], cwd=ROOT, env={**os.environ, **stack.env},
        capture_output=True, text=True, timeout=60,
    )


def test_brute_force_locks_after_five_and_the_right_password_stays_refused_until_unlock(
    stack, page, browser
):
    auth.create_user(stack.db, "victim", "victims-password-1", "recruiter", actor=auth.OPERATOR)
    # The attacker claims to be someone else; no trusted proxy is configured, so the header must
    # not decide which address the failures count against.
    page.set_extra_http_headers({"X-Forwarded-For": "198.51.100.1"})
    page.goto(stack.dashboard_url)
    for attempt in range(1, 6):
        page.get_by_label("Username").fill("victim")
        page.get_by_role("textbox", name="Password").fill(f"guess-number-{attempt}")
        page.get_by_role("button", name="Login").click()
        # The previous try's message is still on screen while this one runs: wait for the
        # server to have judged it before typing the next.
        _wait_for(lambda n=attempt: _audited(stack, "victim", "login.failure") == n)
    page.get_by_text("Too many failed log-ins").wait_for()
    # A fresh browser session (a counter kept in the Streamlit session would restart here),
    # claiming yet another address, with the right password: still refused, unchecked.
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": "198.51.100.2"})
    fresh = context.new_page()
    fresh.set_default_timeout(20000)
    _try_login(fresh, stack, "victim", "victims-password-1")
    fresh.get_by_text("Too many failed log-ins").wait_for()
    assert _on_login_form(fresh)
    context.close()
    entries = list(stack.db[AUDIT_LOG].find({"entity_id": "victim", "action": {"$regex": "^login"}}))
    actions = [e["action"] for e in entries]
    assert actions.count("login.failure") == 5 and actions.count("login.locked") == 1
    assert "login.success" not in actions
    assert all("127.0.0.1" in e["detail"] and "198.51.100" not in e["detail"] for e in entries)

    result = _manage(stack, "unlock-user", "victim", "--json")
    assert result.returncode == 0, result.stderr
    assert '"locks_lifted": 1' in result.stdout
    page.set_extra_http_headers({})
    login(page, stack, "victim", "victims-password-1")
    assert stack.db[AUDIT_LOG].count_documents({"entity_id": "victim", "action": "login.success"}) == 1


def test_a_copied_cookie_stops_working_after_logout_and_after_a_password_reset(stack, page, browser):
    auth.create_user(stack.db, "rosa", "rosas-password-1", "recruiter", actor=auth.OPERATOR)
    login(page, stack, "rosa", "rosas-password-1")
    stolen = _cookie(page)
    # The copy works while the session lives (so the refusals below are not a broken cookie).
    context, other = _open_with_cookie(browser, stack, stolen)
    assert _home_or_form(other) == "home"
    context.close()

    page.get_by_role("button", name="Log out").click()
    assert _on_login_form(page)
    context, other = _open_with_cookie(browser, stack, stolen)
    assert _home_or_form(other) == "form" and _on_login_form(other)
    context.close()

    login(page, stack, "rosa", "rosas-password-1")
    stolen = _cookie(page)
    auth.reset_password(stack.db, auth.get_user(stack.db, "admin"), "rosa", "rosas-new-password-2")
    context, other = _open_with_cookie(browser, stack, stolen)
    assert _home_or_form(other) == "form" and _on_login_form(other)
    context.close()

