"""The whole hiring journey in headless Chromium, and a short tour per role. Every step leaves a
screenshot in tests/artifacts/journey/ and its page is checked for engineer-speak (ids, raw JSON,
stored codes, Python literals, microsecond timestamps), tables included.

There is no hiring-manager role: admins configure the global settings, recruiters do everything
else a hiring manager does (jobs, settings overrides, voices, imports, calls, reviews), viewers read."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core import auth
from core.agent import settings as agent_settings
from core.agent.models import CallingHours, TimeWindow, Weekday
from core.db import CALLS, CANDIDATES
from core.people import jobs
from tests.e2e.conftest import login
from tests.support.browser import (
    assert_plain,
    check_csv_import,
    choose,
    create_job,
    queue_batch,
    save_csv_import,
    screenshot,
    settings_row,
    settle,
)
from tests.support.pipeline_seed import seed_pipeline
from tests.support.visible_text import engineer_speak

pytestmark = pytest.mark.e2e

PASSWORD = "journey-password-1"
# Sandbox numbers that answer and complete (+1 NPA 555-01XX, XX outside the 50-58 outcomes).
_PEOPLE = [("Asha Journey", "+1 917 555 0120"), ("Boris Journey", "(917) 555-0121"),
           ("Chen Journey", "917.555.0122")]
_ALL_DAY = CallingHours(
    windows={d: [TimeWindow(start=dt.time(0, 0), end=dt.time(23, 59, 59, 999999))] for d in Weekday}
)


@pytest.fixture(scope="module")
def people(stack) -> dict[str, str]:
    """A user per role (the admin exists already) and a job with calls in many states on file."""
    for role in ("recruiter", "viewer"):
        if auth.get_user(stack.db, f"{role}-journey") is None:
            auth.create_user(stack.db, f"{role}-journey", PASSWORD, role, name=f"Jo {role.title()}",
                             actor=auth.OPERATOR)
    seed_pipeline(stack.db, title="Journey pipeline job", area="312")  # the pipeline test has 201
    return {"admin": "admin", "recruiter": "recruiter-journey", "viewer": "viewer-journey"}


@pytest.fixture
def shots(artifacts_dir: Path):
    """Save a step's full-page screenshot as journey/NN-name.png and check the page's words."""
    folder = artifacts_dir / "journey"

    def step(page, name: str) -> str:
        screenshot(page, folder / f"{name}.png")
        return assert_plain(page, name)

    return step


@pytest.fixture
def new_page(browser):
    """Pages with their own cookies (one per user), closed after the test."""
    contexts = []

    def make():
        contexts.append(browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True))
        pg = contexts[-1].new_page()
        pg.set_default_timeout(20000)
        return pg

    yield make
    for context in contexts:
        context.close()


def _sign_in(page, stack, username: str, password: str, *, then_goto: bool = True) -> None:
    if username == "admin":
        login(page, stack)
    else:
        login(page, stack, username, password)
    if then_goto:  # a new page load needs the session, set up just after the home page shows
        page.wait_for_timeout(3000)


def _candidates_csv(path: Path) -> None:
    rows = ["name,phone,email,timezone,consent,notes",
            *(f"{name},{phone},,America/New_York,yes," for name, phone in _PEOPLE),
            "No Number,12,,,yes,a rejected row"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def _export(page) -> tuple[str, str]:
    """On Calls & transcripts with a job chosen: download its CSV; its file name and text."""
    with page.expect_download() as caught:
        page.get_by_role("button", name="Download CSV of this job's screened candidates").click()
    download = caught.value
    return download.suggested_filename, Path(download.path()).read_text(encoding="utf-8")


def _wait_for_transcripts(db, job_id: str, count: int) -> list[dict]:
    # The transcript is fetched by the follow-up after the call ends; on a loaded machine its
    # backoff (15 s, 30 s, …) can take it past a minute.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        docs = list(db[CALLS].find({"job_id": job_id}, {"status": 1, "transcript_status": 1, "created_at": 1,
                                                        "candidate_id": 1}))
        if len(docs) == count and all(d.get("transcript_status") == "stored" for d in docs):
            return sorted(docs, key=lambda d: (d["created_at"], d["_id"]))
        time.sleep(0.5)
    raise AssertionError(f"the calls did not end with transcripts: {docs}")


def test_hiring_journey_from_settings_to_export(stack, new_page, people, shots, tmp_path):
    title = f"Journey barista {uuid.uuid4().hex[:4]}"
    company = "Bean There"

    # 1. The global settings are an admin's: the company name changes and is saved.
    admin = new_page()
    _sign_in(admin, stack, "admin", "")
    admin.goto(f"{stack.dashboard_url}/global_settings")
    settle(admin, "Global settings")
    field = admin.get_by_label("Company name", exact=True)
    field.fill("Journey Hiring Ltd")
    field.press("Enter")
    admin.get_by_role("button", name="Review changes").first.click()
    admin.get_by_role("button", name="Save these changes").click()
    admin.get_by_text("saved by admin").wait_for()
    settle(admin)
    shots(admin, "01-global-settings-saved")
    assert agent_settings.get_global_config(stack.db).company_name == "Journey Hiring Ltd"

    # 2. The rest is a recruiter's: a job, made on the page.
    page = new_page()
    _sign_in(page, stack, people["recruiter"], PASSWORD)
    shots(page, "02-home")
    create_job(page, stack.dashboard_url, title, company)
    settle(page)
    shots(page, "03-job-created")
    job = next(j for j in jobs.list_jobs(stack.db) if j.title == title)
    # Calls are real here: the job calls all day, so the test works at any hour (set in core,
    # the weekly hours editor has its own test).
    agent_settings.save_job_config(stack.db, auth.OPERATOR, job.id, {"calling_hours": _ALL_DAY})

    # 3. A job setting overridden: the maximum call length.
    page.goto(f"{stack.dashboard_url}/job_settings?job={job.id}")
    settle(page, "Job settings")
    row = settings_row(page, "Maximum call length (minutes)")
    row.get_by_text("Inherited").wait_for()
    row.get_by_text("Override", exact=True).click()
    length = row.get_by_label("Maximum call length (minutes)", exact=True)
    length.fill("6")
    length.press("Tab")
    page.get_by_role("button", name="Review changes").first.click()
    page.get_by_role("button", name="Save these changes").click()
    page.get_by_role("button", name="Save these changes").wait_for(state="detached")
    settings_row(page, "Maximum call length (minutes)").get_by_text("Overridden").wait_for()
    settle(page)
    shots(page, "04-job-setting-overridden")
    assert agent_settings.job_effective_config(stack.db, job.id).max_duration_minutes == 6

    # 4. A voice heard before it is chosen.
    page.locator("[data-testid='stSidebarNav'] a[href$='voices']").click()
    settle(page, "Voices")
    page.get_by_role("button", name="Preview").first.click()
    page.locator("audio").first.wait_for()
    settle(page)
    shots(page, "05-voice-preview")

    # 5. Candidates imported from a CSV: the per-row report, then the save.
    csv_path = tmp_path / "people.csv"  # a long name is shortened on screen
    _candidates_csv(csv_path)
    page.locator("[data-testid='stSidebarNav'] a[href$='jobs_candidates']").click()
    settle(page, "Jobs & candidates")
    check_csv_import(page, title, csv_path)
    page.get_by_text("4 rows: 3 accepted, 0 duplicate, 1 rejected.").wait_for()
    settle(page)
    shots(page, "06-import-report")
    save_csv_import(page, 3)
    page.get_by_text("3 new candidates and 0 already on file. 1 row skipped").wait_for()
    settle(page)
    shots(page, "07-import-saved")
    assert stack.db[CANDIDATES].count_documents({"job_ids": job.id}) == 3

    # 6. The calls launched as a batch, watched live until all have ended (bounded).
    page.locator("[data-testid='stSidebarNav'] a[href$='launch_calls']").click()
    queue_batch(page, title, company, 3)
    settle(page)
    shots(page, "08-calls-queued")
    page.get_by_text("3 of 3 candidates done · batch: finished").wait_for(timeout=60000)
    settle(page)
    shots(page, "09-calls-finished")
    calls = _wait_for_transcripts(stack.db, job.id, 3)
    assert {c["status"] for c in calls} == {"completed"}

    # 7. The job's calls listed, the first opened, reviewed, and Save & next opens the next.
    page.locator("[data-testid='stSidebarNav'] a[href$='transcripts']").click()
    settle(page, "Calls & transcripts")
    choose(page, "Job", title)
    page.get_by_role("button", name="Apply filters").click()
    page.get_by_text("Page 1 of 1 · 3 calls").wait_for()
    settle(page)
    shots(page, "10-calls-of-the-job")

    # The export sits under the list, named after the job and the day (what is inside is
    # checked by the next test).
    name, content = _export(page)
    assert name == f"{'-'.join(title.lower().split())}-screening-{dt.date.today().isoformat()}.csv"
    assert not engineer_speak(name)
    exported = list(csv.DictReader(io.StringIO(content.lstrip("\ufeff"))))
    assert sorted(r["Candidate"] for r in exported) == sorted(n for n, _ in _PEOPLE), content
    found = engineer_speak(content)  # a sheet people read: no ids, codes or ISO times
    assert not found, "the export holds engineer-speak: " + "; ".join(f"{f.kind}: {f.text!r}" for f in found)

    page.get_by_role("button", name="Open call").click()
    page.get_by_role("heading", name="Scorecard", exact=True).wait_for()
    opened = next(c for c in calls if f"call={c['_id']}" in page.url)
    following = next(c for c in calls if c["_id"] != opened["_id"])  # the oldest other one
    name_of = {d["_id"]: d["name"] for d in stack.db[CANDIDATES].find({"job_ids": job.id}, {"name": 1})}
    page.get_by_text(f"{name_of[opened['candidate_id']]} · {title}").first.wait_for()
    page.get_by_text("Advance", exact=True).click()
    choose(page, "Overall rating", "4 / 5")
    page.wait_for_timeout(300)
    settle(page)
    shots(page, "11-call-review")
    page.get_by_role("button", name="Save & next").click()
    page.get_by_text(f"{name_of[following['candidate_id']]} · {title}").first.wait_for()
    page.get_by_text("Review saved. This is the next call awaiting review in this job.").wait_for()
    settle(page)
    shots(page, "12-saved-and-next")
    assert f"call={following['_id']}" in page.url
    review = stack.db[CALLS].find_one({"_id": opened["_id"]})["review"]
    assert (review["decision"], review["overall"]) == ("advance", 4)

    # 8. Usage & cost, with this journey's calls in it.
    page.locator("[data-testid='stSidebarNav'] a[href$='usage']").click()
    settle(page, "Usage & cost")
    page.get_by_text("Calls per day by outcome").first.wait_for()
    settle(page)
    shots(page, "13-usage")


_SIDEBAR = "[data-testid='stSidebarNav'] a"
# Job settings quotes the agent's prompt word for word, and the prompt shows the agent the
# format requestCallback takes (core/screening/tool_rules.md). The only exception allowed.
_PROMPT_QUOTED = frozenset({"2026-12-03T15:00"})


@pytest.mark.parametrize("role", ["admin", "recruiter", "viewer"])
def test_each_role_sees_its_pages_in_plain_words_and_is_refused_the_others(
    stack, page, people, shots, role
) -> None:
    _sign_in(page, stack, people[role], PASSWORD, then_goto=False)  # the sidebar first
    allowed = auth.menu_for(auth.Role(role))
    hrefs = [h.rsplit("/", 1)[-1] for h in page.locator(_SIDEBAR).evaluate_all("els => els.map(e => e.href)")]
    assert [h or "home" for h in hrefs] == allowed
    for n, stem in enumerate(allowed, start=1):
        link = page.locator(_SIDEBAR).nth(n - 1)
        title = "Voice Screening Console" if stem == "home" else link.inner_text().strip().splitlines()[-1]
        link.click()
        settle(page, title)
        text = shots(page, f"{role}-{n:02d}-{stem}")
        if stem == "users":  # the users are a dataframe: its cells are read, every column
            assert {"viewer-journey", "Viewer", "recruiter-journey"} <= set(text.splitlines()), text
        # Each tab of the page is read too (only the open one is drawn).
        tabs = page.locator("[data-testid='stMain'] [role='tab']")
        for i in range(1, tabs.count()):
            tabs.nth(i).click()
            expect(tabs.nth(i)).to_have_attribute("aria-selected", "true")
            page.wait_for_timeout(150)
            assert_plain(page, f"{role}-{n:02d}-{stem}, tab {tabs.nth(i).inner_text().strip()}",
                         allowed=_PROMPT_QUOTED)
    for stem in (s for s in auth.PAGE_ROLES if s not in auth.pages_for(auth.Role(role))):
        page.goto(f"{stack.dashboard_url}/{stem}")
        page.get_by_text("does not give access to").wait_for()
        settle(page)
        text = shots(page, f"{role}-refused-{stem}")
        assert "Ask an administrator if you need it." in text
