"""Steps the browser tests take the same way on several pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.agent import settings as agent_settings
from core.calling import hours as calling_hours
from core.db import utcnow
from core.labels import counted
from tests.support.apptest import INTERNAL_LINK  # a link cell holds an address, not what is shown
from tests.support.visible_text import engineer_speak

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


# -- steps shared by the journey and the single-page browser tests ------------------------------


def create_job(page, base_url: str, title: str, company: str) -> None:
    """On Jobs & candidates: create a job through its form and wait for the confirmation."""
    page.goto(f"{base_url}/jobs_candidates")
    page.get_by_role("heading", name="Jobs & candidates").wait_for()
    expander = page.locator("[data-testid='stExpander'] details").filter(has_text="Create a job")
    expander.wait_for()
    if expander.get_attribute("open") is None:  # collapsed when other jobs exist
        expander.get_by_text("Create a job").click()
    form = page.locator("[data-testid='stForm']").filter(has=page.get_by_role("button", name="Create job"))
    form.get_by_label("Title", exact=True).fill(title)
    form.get_by_label("Company", exact=True).fill(company)
    form.get_by_role("button", name="Create job").click()
    page.get_by_text(f"Job {title} created.").wait_for()


def save_csv_import(page, accepted: int) -> None:
    """After `check_csv_import`: save the accepted rows and confirm in the dialog."""
    page.get_by_role("button", name=f"Save {counted(accepted, 'candidate')}…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(f"Save {counted(accepted, 'candidate')} into").wait_for()
    dialog.get_by_role("button", name="Yes, save").click()


def queue_batch(page, job_title: str, company: str, count: int) -> None:
    """On Launch calls: queue everyone not yet screened for the job, confirmed in the dialog."""
    page.get_by_role("heading", name="Launch calls").wait_for()
    choose(page, "Job", job_title)
    page.get_by_role("button", name="Queue batch…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(f"all candidates not yet screened for {job_title} — {company}?").wait_for()
    dialog.get_by_role("button", name="Yes, queue them").click()
    page.get_by_text(f"{counted(count, 'call')} queued, 0 skipped.").wait_for()


def settings_row(page, label: str):
    """The job-settings row (badge, override toggle, input) of one field."""
    return page.locator('[data-testid="stHorizontalBlock"]').filter(
        has=page.get_by_label(label, exact=True)
    ).last


def metric(page, label: str) -> str:
    """The value shown by the metric with this label."""
    shown = page.locator("[data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text=label)
    )
    return shown.locator("[data-testid='stMetricValue']").inner_text().strip()


# -- what a page shows -------------------------------------------------------------------------

# The page's text as a person sees it: Material icons are drawn from ligature names
# ("keyboard_arrow_right") that are glyphs on screen, so they are hidden while the text is read.
_SHOWN_TEXT = """() => {
  const icons = [...document.querySelectorAll("[data-testid='stIconMaterial']")];
  const saved = icons.map(el => el.style.display);
  icons.forEach(el => { el.style.display = 'none'; });
  try { return document.body.innerText; }
  finally { icons.forEach((el, i) => { el.style.display = saved[i]; }); }
}"""
# A dataframe is drawn on a canvas; its cells are also in a hidden table for screen readers,
# but only the part scrolled into view. Each grid is scrolled across and down, a view at a time,
# its cells read at each stop, then scrolled back (a grid out of sight is left alone).
_GRID_CELLS = """async () => {
  const pause = () => new Promise(r => setTimeout(r, 50));
  const cells = [];
  for (const grid of document.querySelectorAll("[data-testid='stDataFrame']")) {
    if (!grid.checkVisibility()) continue;  // in a closed expander or another tab: not shown
    const scroller = grid.querySelector('.dvn-scroller');
    const read = () => grid.querySelectorAll('table th, table td').forEach(c => cells.push(c.textContent));
    if (!scroller) { read(); continue; }
    const stepX = Math.max(scroller.clientWidth - 40, 100), stepY = Math.max(scroller.clientHeight - 40, 100);
    for (let y = 0; y < scroller.scrollHeight; y += stepY) {
      for (let x = 0; x < scroller.scrollWidth; x += stepX) {
        scroller.scrollTo(x, y);
        await pause();
        read();
        if (cells.length > 20000) return cells;  // a bound: no page shows more
      }
    }
    scroller.scrollTo(0, 0);
  }
  return cells;
}"""
# A link column's cell is read out as its address; the grid draws its display text ("Open call").


_MAIN_HEIGHT = "() => document.querySelector(\"[data-testid='stMain']\")?.scrollHeight ?? 0"


def settle(page, heading: str | None = None) -> None:
    """Wait until the page shows `heading` and Streamlit has finished running its script."""
    if heading:
        page.locator("[data-testid='stMain'] h1").filter(has_text=heading).first.wait_for()
    # The app's root says whether a script run is going on (the running-man widget is hidden
    # by the minimal toolbar); a live fragment's runs come and go, so between two is enough.
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(state="attached")
    page.locator("[data-testid='stSkeleton']").first.wait_for(state="detached")
    page.wait_for_timeout(250)  # the last deltas of the run are drawn


def shown_text(page) -> str:
    """Everything the page shows in words: its text and the cells of its tables."""
    cells = dict.fromkeys(c for c in page.evaluate(_GRID_CELLS) if not INTERNAL_LINK.match(c.strip()))
    return "\n".join([page.evaluate(_SHOWN_TEXT), *cells])


def assert_plain(page, where: str, *, allowed: frozenset[str] = frozenset()) -> str:
    """The page's text, after asserting it has no engineer-speak (the offending pieces named)."""
    text = shown_text(page)
    found = engineer_speak(text, allowed=allowed)
    lines = text.splitlines()
    shown = [f"{f.kind}: {f.text!r} in {next((x for x in lines if f.text in x), '')[:160]!r}" for f in found]
    assert not found, f"{where} shows engineer-speak: " + "; ".join(shown)
    return text


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so the window is made as tall
    as that block (capped) before the picture is taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(_MAIN_HEIGHT)
    window = page.viewport_size
    tall = max(window["height"], min(int(height) + 40, 6000))
    if tall != window["height"]:
        page.set_viewport_size({"width": window["width"], "height": tall})
        page.wait_for_timeout(150)
    page.screenshot(path=str(path), full_page=True)
    if tall != window["height"]:
        page.set_viewport_size(window)
