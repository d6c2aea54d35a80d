"""A job's pipeline in headless Chromium: the funnel of its stages, a row's link opens the call,
and the launch for everyone not yet called confirms, then queues."""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from core.db import CALLS
from tests.e2e.conftest import login
from tests.support.pipeline_seed import seed_pipeline

pytestmark = pytest.mark.e2e


def test_pipeline_funnel_and_a_row_opens_its_call(stack, page, artifacts_dir):
    seeded = seed_pipeline(stack.db, title="E2E pipeline job")
    login(page, stack)
    page.set_viewport_size({"width": 1400, "height": 1800})
    page.goto(f"{stack.dashboard_url}/pipeline?job={seeded['job']}")
    page.get_by_role("heading", name="Pipeline").wait_for()
    page.get_by_text("9 of 9 candidates shown.").wait_for()
    # The funnel: one bar per non-empty stage, labelled in words with its count.
    chart = page.locator("[data-testid='stPlotlyChart']")
    chart.wait_for()
    for label in ("advanced", "rejected", "not called", "retry scheduled", "asked for a human",
                  "do-not-call"):
        chart.get_by_text(label, exact=True).wait_for()
    assert chart.locator(".funnellayer .point").count() == 9  # the nine non-empty stages
    page.get_by_text("Knockouts agreed with 2 of 2 decisions (1 on hold, counted apart).").wait_for()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts_dir / "pipeline.png"), full_page=True)

    # Narrow the table to one row, then open its call from the link cell (a new tab).
    page.get_by_placeholder("Search by name").fill("archer")
    page.keyboard.press("Enter")
    page.get_by_text("1 of 9 candidates shown.").wait_for()
    grid = page.locator("[data-testid='stDataFrame']").first
    grid.wait_for()
    page.wait_for_timeout(500)
    box = grid.bounding_box()
    assert box is not None
    # The grid is drawn on a canvas: the link is clicked where it is drawn. The link column is
    # the last one and the only row sits below the header; scan leftwards from the right edge
    # until the click lands on the link text (other cells only get selected).
    row_y = box["y"] + box["height"] - 18
    call_page = None
    for x in range(int(box["x"] + box["width"] - 12), int(box["x"] + box["width"] - 260), -16):
        try:
            with page.context.expect_page(timeout=1500) as opened:
                page.mouse.click(x, row_y)
        except PlaywrightTimeout:
            continue
        call_page = opened.value
        break
    assert call_page is not None, "no click on the row's link opened the call"
    call_page.wait_for_load_state()
    assert f"/call?call={seeded['calls']['Ann Archer']}" in call_page.url
    call_page.get_by_text("Ann Archer · E2E pipeline job").wait_for()
    call_page.close()

    # Launch for everyone not yet called: the confirmation says how many, then queues them.
    page.get_by_role("button", name="Call everyone not yet called (1)…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("not yet called for").wait_for()
    assert "1 of 1 candidate not yet called" in dialog.inner_text()
    dialog.get_by_role("button", name="Yes, queue them").click()
    page.get_by_text("1 call queued, 0 skipped.").wait_for()
    assert stack.db[CALLS].count_documents({"candidate_id": seeded["ids"]["Dan Evans"]}) == 1
