"""The organisation's calendar as pure functions: days, months and day bounds in one zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core import timezones
from core.agent import validation as agent_validation
from core.agent.defaults import default_global_config
from core.agent.effective import as_plain
from core.usage import counters, period

EARLY_MARCH = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # 28 Feb, 22:00 in New York


def test_a_call_counts_under_its_day_in_the_organisation_zone():
    call = {"_id": "c", "status": "completed", "created_at": EARLY_MARCH}
    assert counters.day_of(call, "UTC") == "2026-03-01"
    assert counters.day_of(call, "America/New_York") == "2026-02-28"
    assert counters.day_of(call, "Asia/Tokyo") == "2026-03-01"
    naive = {**call, "created_at": EARLY_MARCH.replace(tzinfo=None)}  # stored instants are UTC
    assert counters.day_of(naive, "America/New_York") == "2026-02-28"


def test_the_budget_month_follows_the_zone_across_the_boundary():
    assert period.month_key(EARLY_MARCH, "UTC") == "2026-03"
    assert period.month_key(EARLY_MARCH, "America/New_York") == "2026-02"
    last_evening = datetime(2026, 3, 31, 20, 0, tzinfo=UTC)  # already 1 April in Tokyo
    assert period.month_key(last_evening, "UTC") == "2026-03"
    assert period.month_key(last_evening, "Asia/Tokyo") == "2026-04"
    assert period.today("America/New_York", EARLY_MARCH) == date(2026, 2, 28)


def test_day_bounds_are_the_zones_midnights_daylight_saving_included():
    lo, hi = period.days_bounds(date(2026, 3, 8), date(2026, 3, 8), "America/New_York")
    # 8 March 2026 is the day New York moves its clocks forward: 23 hours long.
    assert lo == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    assert hi == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
    assert period.days_bounds(date(2026, 3, 1), date(2026, 3, 2), "UTC") == (
        datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))


def test_zone_words_for_a_heading():
    assert timezones.zone_words("UTC") == "UTC"
    assert timezones.zone_words("America/New_York") == "New York time"


def test_an_unknown_zone_is_refused_at_its_field_in_plain_words():
    data = {**as_plain(default_global_config()), "organisation_zone": "Mars/Olympus_Mons"}
    problems = agent_validation.problems_by_field(data)
    assert list(problems) == ["organisation_zone"]
    assert problems["organisation_zone"][0].startswith("Organisation time zone: “Mars/Olympus_Mons” is not")
    with pytest.raises(agent_validation.ConfigValidationError):
        agent_validation.validate_global(data)
    assert agent_validation.validate_global({**data, "organisation_zone": "Europe/Paris"})


def test_a_job_cannot_override_the_organisation_zone():
    with pytest.raises(agent_validation.ConfigValidationError) as exc:
        agent_validation.validate_job({"organisation_zone": "Europe/Paris"})
    assert "'Organisation time zone' is not a setting." in exc.value.messages


def test_a_budget_month_reads_as_words():
    assert period.month_words(period.month_key(EARLY_MARCH, "UTC")) == "March 2026"
    assert period.month_words(period.month_key(EARLY_MARCH, "America/New_York")) == "February 2026"
