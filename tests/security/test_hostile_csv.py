"""An attacker's candidate file, uploaded through the browser: its text stays text on every page
it reaches (no remote image fetched, no link, no styling), and the job's export cannot run a
spreadsheet formula that came from it."""

from __future__ import annotations

import csv
import io

import pytest

from core import auth
from core.db import CANDIDATES
from core.people import jobs
from core.review import exports
from tests.e2e.conftest import login
from tests.support.browser import check_csv_import
from tests.support.pixel import pixel_server
from tests.support.review_seed import add_call

pytestmark = pytest.mark.e2e

FORMULA = '=HYPERLINK("http://evil.example/x","open me")'


def _hostile_file(path, pixel: str) -> None:
    rows = [
        ["name", "phone", "email", "timezone", "consent", "notes"],
        [f"Mal ![px]({pixel}/name.png)", "+1 212 555 0161", "mal@evil.example", "", "yes",
         f"<img src='{pixel}/notes.png'> [click](http://evil.example) **bold**"],
        [FORMULA, "+1 212 555 0162", "", "", "yes", f"@SUM(1+1) {pixel}/bare.png"],
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def test_a_hostile_candidate_file_stays_inert_in_the_browser_and_in_the_export(
    stack, page, tmp_path, artifacts_dir
) -> None:
    admin = auth.get_user(stack.db, "admin")
    title = "Hostile import"
    job = jobs.create_job(stack.db, admin, title=title, company="Acme")
    with pixel_server() as served:
        path = tmp_path / "hostile.csv"
        _hostile_file(path, served.url)
        login(page, stack)
        page.goto(f"{stack.dashboard_url}/jobs_candidates")
        check_csv_import(page, title, path)
        page.get_by_text("2 rows: 2 accepted, 0 duplicate, 0 rejected.").wait_for()
        page.get_by_role("button", name="Save 2 candidates…").click()
        page.get_by_role("dialog").get_by_role("button", name="Yes, save").click()
        page.get_by_text("2 new candidates and 0 already on file.").wait_for()

        stored = {c["_id"] for c in stack.db[CANDIDATES].find({"job_ids": job.id}, {"_id": 1})}
        assert len(stored) == 2
        mal = next(iter(stored))
        page.goto(f"{stack.dashboard_url}/jobs_candidates?candidate={mal}")
        page.get_by_role("button", name="Back to the lists").wait_for()
        page.goto(f"{stack.dashboard_url}/jobs_candidates")
        page.get_by_role("tab", name="Candidates").click()
        page.locator("[data-testid^='stBaseButton']", has_text="Open").wait_for()
        page.wait_for_timeout(1500)  # time for any image to be requested
        page.screenshot(path=str(artifacts_dir / "hostile-import.png"), full_page=True)
        assert served.hits == [], f"the browser fetched {served.hits}"
        assert page.locator(f"img[src^='{served.url}']").count() == 0
        assert page.locator("a[href*='evil.example']").count() == 0

    # The export of the job: every cell that a spreadsheet would run starts as plain text.
    for cand_id in stored:
        add_call(stack.db, cand_id, job.id)
    rows = list(csv.reader(io.StringIO(exports.export_job_csv(stack.db, admin, job.id).decode("utf-8-sig"))))
    cells = [cell for row in rows[1:] for cell in row]
    assert any(FORMULA in cell for cell in cells)  # the name is kept, as text
    # (A validated number such as +12125550161 is a plain number to a spreadsheet, not a formula.)
    runnable = [c for c in cells if c[:1] in ("=", "@") or (c[:1] in ("+", "-") and not c[1:].isdigit())]
    assert not runnable
