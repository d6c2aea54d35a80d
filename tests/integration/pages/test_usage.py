"""The usage page through AppTest: empty state, charts with data, filters, export, every role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from streamlit.testing.v1 import AppTest

from core.agent import defaults as agent_defaults
from core.agent import effective as agent_effective
from core.agent import settings as agent_settings
from core.db import utcnow
from core.usage import rollups
from tests.factories import insert_call, insert_job
from tests.support.apptest import TIMEOUT, make_user, page_path, signed_in, texts

ROLES = ["admin", "recruiter", "viewer"]


def _seed(db) -> None:
    now = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    insert_job(db, id="j1", title="Backend engineer", status="open", created_at=now)
    insert_job(db, id="j2", title="Night nurse", status="open", created_at=now)
    # Created today and yesterday, alternately (minutes apart).
    calls = [
        insert_call(db, id="a", job_id="j1", status="completed", duration_seconds=240, end_reason="hangup",
                    billing_status="BILLING_STATUS_BILLED", billed_duration_seconds=230.0,
                    telephony_price="-0.056", price_unit="USD", review={"decision": "advance"},
                    created_at=now),
        insert_call(db, id="b", job_id="j1", status="voicemail", duration_seconds=20,
                    end_reason="agent_hangup", created_at=now - timedelta(days=1, minutes=1)),
        insert_call(db, id="c", job_id="j2", status="no_answer", created_at=now - timedelta(minutes=2)),
        insert_call(db, id="d", job_id="j2", status="completed", duration_seconds=15, end_reason="hangup",
                    created_at=now - timedelta(days=1, minutes=3)),
    ]
    for call in calls:
        rollups.record_terminal(db, call.id)


def _run(db, role: str) -> AppTest:
    user = make_user(db, role)
    at = signed_in(AppTest.from_file(page_path("usage"), default_timeout=TIMEOUT), user)
    return at.run()


def _charts(at: AppTest) -> list:
    return list(at.get("plotly_chart"))


@pytest.mark.parametrize("role", ROLES)
def test_empty_state_for_each_role(db, role):
    at = _run(db, role)
    assert not at.exception
    body = texts(at)
    assert "No call has ended in this range yet" in body
    assert "0.00 spent and 0.00 committed of 500.00 this month" in body
    assert len(_charts(at)) == 1  # only the budget gauge: no empty, broken charts


@pytest.mark.parametrize("role", ROLES)
def test_charts_and_figures_with_data_for_each_role(db, role):
    _seed(db)
    at = _run(db, role)
    assert not at.exception
    assert len(_charts(at)) == 9
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Calls"] == "4"
    assert metrics["Answer rate"] == "50%"
    # a: 230 s → 0.195 AI + 0.056 phone; b: 24 s → 0.02 + 0.014; d: 18 s → 0.015 + 0.014.
    assert metrics["Spend"] == "0.314 USD"  # the one money format
    assert metrics["Per advanced candidate"] == "0.314 USD"
    assert metrics["Per completed screening"] == "0.157 USD"
    assert at.dataframe[0].value["job"].tolist() == ["Backend engineer", "Night nurse"]


def test_job_filter_and_csv_export(db):
    _seed(db)
    at = _run(db, "viewer")
    at.selectbox(key="usage.job").select("j2").run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Calls"] == "2"
    assert at.dataframe[0].value["job"].tolist() == ["Night nurse"]
    at.button(key="usage.export").click().run()
    assert not at.exception
    download = at.get("download_button")
    assert len(download) == 1 and "Download 2 calls" in str(download[0].proto.label)


def test_budget_warning_at_eighty_percent(db):
    _seed(db)
    admin = make_user(db, "admin", "boss")
    data = agent_effective.as_plain(agent_defaults.default_global_config())
    agent_settings.save_global_config(db, admin, {**data, "monthly_budget": "0.35"})
    at = _run(db, "recruiter")
    assert not at.exception
    # Calls placed before any reservation count as committed at their cost.
    assert any("0.314 spent and 0.314 committed of 0.35 this month (90%)" in str(w.value) for w in at.warning)
    assert {m.label: m.value for m in at.metric}["Committed"] == "0.314 USD"


def test_bad_range_is_a_clear_message(db):
    at = _run(db, "admin")
    today = utcnow().date()
    at.date_input(key="usage.range").set_value((today - timedelta(days=900), today)).run()
    assert not at.exception
    assert "Cannot show that range" in texts(at)


def test_days_are_labelled_with_the_organisation_time_zone(db):
    user = make_user(db, "viewer")
    at = signed_in(AppTest.from_file(page_path("usage"), default_timeout=TIMEOUT), user).run()
    assert at.date_input(key="usage.range").label == "Days (UTC)"
    admin = make_user(db, "admin", "boss")
    data = agent_effective.as_plain(agent_defaults.default_global_config())
    agent_settings.save_global_config(db, admin, {**data, "organisation_zone": "America/New_York"})
    at = signed_in(AppTest.from_file(page_path("usage"), default_timeout=TIMEOUT), user).run()
    assert not at.exception
    assert at.date_input(key="usage.range").label == "Days (New York time)"
    assert ("Days and the budget month follow the organisation time zone, America/New York, set in "
            "Global settings.") in texts(at)
