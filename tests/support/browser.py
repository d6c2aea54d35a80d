"""Steps the browser tests take the same way on several pages."""

from __future__ import annotations

from pathlib import Path


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
