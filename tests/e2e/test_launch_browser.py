"""Import a CSV, launch a batch and watch it finish, in headless Chromium against the whole stack."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import Counter

import pytest
import requests

from core import auth
from core.agent import settings as agent_settings
from core.agent.models import CallingHours, TimeWindow, Weekday
from core.db import BATCHES, CALLS, CANDIDATES
from core.people import jobs
from tests.e2e.conftest import login
from tests.support.browser import check_csv_import, create_job, metric, queue_batch, save_csv_import

pytestmark = pytest.mark.e2e
# Sandbox numbers that answer and complete (+1 NPA 555-01XX, XX outside the 50-55 outcomes).
_PHONES = ["+1 646 555 0100", "(646) 555-0101", "646.555.0102", "+1 646 555 0103"]
_E164 = [f"+164655501{i:02d}" for i in range(4)]
_ALL_DAY = CallingHours(
    windows={d: [TimeWindow(start=dt.time(0, 0), end=dt.time(23, 59, 59, 999999))] for d in Weekday}
)


def _csv(path) -> None:
    rows = [
        "name,phone,email,timezone,consent,notes",
        f"Ada Launch,{_PHONES[0]},ada@example.com,America/New_York,yes,",
        f"Ben Launch,{_PHONES[1]},,,yes,zone from the number",
        f"Cleo Launch,{_PHONES[2]},cleo@example.com,America/New_York,yes,",
        f"Dev Launch,{_PHONES[3]},,,yes,",
        "No Number,12,,,yes,a rejected row",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_import_csv_launch_batch_and_watch_it_finish(stack, page, artifacts_dir, tmp_path):
    started = time.monotonic()
    title = f"Launch E2E {uuid.uuid4().hex[:6]}"
    login(page, stack)

    # A job made on the page.
    create_job(page, stack.dashboard_url, title, "Acme Launch")
    job = next(j for j in jobs.list_jobs(stack.db) if j.title == title)
    assert job is not None
    # Calls are real here: open this job's calling hours all day so the test works at any hour.
    admin = auth.get_user(stack.db, "admin")
    agent_settings.save_job_config(stack.db, admin, job.id, {"calling_hours": _ALL_DAY})

    # CSV import: per-row report first, nothing saved until confirmed.
    csv_path = tmp_path / "candidates.csv"
    _csv(csv_path)
    check_csv_import(page, title, csv_path)
    page.get_by_text("5 rows: 4 accepted, 0 duplicate, 1 rejected.").wait_for()
    assert stack.db[CANDIDATES].count_documents({"job_ids": job.id}) == 0
    save_csv_import(page, 4)
    page.get_by_text("4 new candidates and 0 already on file. 1 row skipped").wait_for()
    cand_ids = {c["_id"] for c in stack.db[CANDIDATES].find({"job_ids": job.id}, {"_id": 1})}
    assert len(cand_ids) == 4

    # Launch calls: a batch of everyone not yet screened, confirmed in a dialog.
    page.locator("[data-testid='stSidebarNav'] a[href$='launch_calls']").click()
    queue_batch(page, title, "Acme Launch", 4)

    # From here on only the live fragment changes the page: a marker proves there is no reload.
    page.evaluate("window.__noReload = true")
    page.get_by_text("4 of 4 candidates done · batch: finished").wait_for(timeout=45000)
    assert page.evaluate("window.__noReload === true")
    assert metric(page, "Completed") == "4"
    # Nothing on the page still claims the batch is running.
    assert page.get_by_text("(running)").count() == 0
    assert page.locator("[data-testid='stMetricLabel']").filter(has_text="Waiting to be dialled").count() == 0
    page.set_viewport_size({"width": 1400, "height": 1800})
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts_dir / "launch.png"), full_page=True)

    # The database: one batch, exactly one completed call per candidate, no duplicate.
    batch = stack.db[BATCHES].find_one({"job_id": job.id})
    assert batch["status"] == "done" and batch["queued"] == 4
    docs = list(stack.db[CALLS].find({"job_id": job.id}, {"candidate_id": 1, "status": 1}))
    assert Counter(d["candidate_id"] for d in docs) == Counter(dict.fromkeys(cand_ids, 1))
    assert {d["status"] for d in docs} == {"completed"}
    # And the provider side: each number dialled once.
    received = requests.get(f"{stack.sandbox_url}/_sandbox/received", params={"service": "twilio"}, timeout=5)
    creates = [r["params"]["To"][0] for r in received.json() if r["op"] == "create_call"]
    dialled = Counter(to for to in creates if to in _E164)
    assert dialled == Counter(dict.fromkeys(_E164, 1))
    assert time.monotonic() - started < 60
