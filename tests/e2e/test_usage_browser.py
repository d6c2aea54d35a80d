"""The usage page in headless Chromium: real charts over calls seeded in the stack's database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.db import utcnow
from core.usage import rollups
from tests.e2e.conftest import login
from tests.factories import insert_call, insert_job

pytestmark = pytest.mark.e2e

_OUTCOMES = [
    ("completed", 240, "hangup", "advance"),
    ("completed", 180, "agent_hangup", None),
    ("completed", 12, "hangup", None),
    ("voicemail", 25, "agent_hangup", None),
    ("no_answer", None, None, None),
    ("busy", None, None, None),
]


def _seed(db) -> str:
    now = utcnow()
    job = insert_job(db, title="E2E usage job", status="open", created_at=now)
    for day in range(6):
        for i, (status, seconds, reason, decision) in enumerate(_OUTCOMES[: 3 + (day % 4)]):
            fields: dict = {}
            if seconds:
                fields.update(
                    duration_seconds=seconds,
                    billing_status="BILLING_STATUS_BILLED",
                    billed_duration_seconds=float(seconds - 3),
                )
            if reason:
                fields["end_reason"] = reason
            if decision:
                fields["review"] = {"decision": decision}
            if day > 1 and seconds:
                fields.update(telephony_price=f"-{0.014 * -(-seconds // 60):.4f}", price_unit="USD")
            call = insert_call(db, job_id=job.id, candidate_id=f"cand-{day}-{i}", status=status,
                               created_at=now - timedelta(days=day, minutes=i), **fields)
            rollups.record_terminal(db, call.id)
    return job.id


def test_usage_page_renders_charts(stack, page, artifacts_dir):
    _seed(stack.db)
    login(page, stack)
    page.get_by_role("link", name="Usage & cost").click()
    page.get_by_role("heading", name="Usage & cost").wait_for()
    for title in (
        "Calls per day by outcome",
        "Spend per day by component",
        "Spend per job",
        "What a screening costs, per job",
        "Wasted spend per day",
    ):
        page.get_by_text(title).first.wait_for()
    # Plotly drew real SVG plots (not an error box or an empty state).
    assert page.locator(".js-plotly-plot").count() >= 9
    assert page.get_by_text("No call has ended in this range yet").count() == 0
    # Streamlit scrolls inside its own container: a tall viewport captures every chart.
    page.set_viewport_size({"width": 1400, "height": 3400})
    page.get_by_text("End reasons").first.wait_for()
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts_dir / "usage.png"), full_page=True)
