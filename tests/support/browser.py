"""Steps the browser tests take the same way on several pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.agent import settings as agent_settings
from core.calling import hours as calling_hours
from core.db import utcnow

_ZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Bangkok",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Kiritimati",
    "Pacific/Honolulu",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Atlantic/Azores",
]


def working_zone(db, job_id: str) -> str:
    """A time zone where it is inside the job's calling hours right now (calling hours are real
    in the browser tests); skips the test when there is none (a weekend everywhere)."""
    hours = agent_settings.job_effective_config(db, job_id).calling_hours
    zone = next((z for z in _ZONES
                 if calling_hours.check(hours, now=utcnow(), candidate_timezone=z, phone=None).allowed), None)
    if zone is None:
        pytest.skip("it is outside calling hours in every zone tried (a weekend everywhere)")
    return zone


def choose(page, label: str, option: str) -> None:
    """Pick an option of a Streamlit selectbox by typing it into its search box."""
    box = page.locator("[data-testid='stSelectbox']").filter(has_text=label)
    box.locator("input").click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def check_csv_import(page, job_title: str, path: Path) -> None:
    """On Jobs & candidates: choose the job, upload `path` and ask for the per-row report."""
    page.get_by_role("tab", name="Import CSV").click()
    choose(page, "Import into job", job_title)
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(path))
    page.get_by_text(path.name).wait_for()
    page.get_by_role("button", name="Check file").click()
