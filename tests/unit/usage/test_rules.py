"""Pure usage rules: a call's counters, the typed headline, page defaults, budget levels, reports."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from core.config import Settings
from core.documents.call import Call
from core.usage import budget as budget_rule
from core.usage import costs, counters, export, rollups
from core.usage import views as usage_views
from tests.factories import call
from tests.support.usage_data import D1, D2, DATASET, EXPECTED_DAY, EXPECTED_JOB_TOTAL

T0 = datetime(2025, 3, 4, 23, 59, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        provider_mode="sandbox",
        ultravox_rate_per_minute=Decimal("0.05"),
        telephony_rate_per_minute=Decimal("0.014"),
        cost_currency="USD",
    )


def _call(**fields) -> dict:
    """A stored completed call (the shape the counters read from the database)."""
    return call(**{"id": "c1", "job_id": "j1", "status": "completed", "created_at": T0, **fields}).to_doc()


def test_an_open_call_counts_nothing_yet_but_has_costs(settings):
    new, figures = counters.contribution(_call(status="in_progress", duration_seconds=61), settings)
    assert new == {}
    assert figures["telephony"] == "0.028" and figures["telephony_estimated"]


def test_a_completed_call_counts_its_outcome_minutes_money_and_decision(settings):
    call = _call(
        duration_seconds=95,
        end_reason="hangup",
        billing_status="BILLING_STATUS_BILLED",
        billed_duration_seconds=37.0,
        telephony_price="-0.0130",
        price_unit="USD",
        review={"decision": "advance"},
    )
    new, figures = counters.contribution(call, settings)
    assert new == {
        "calls": 1,
        "out_completed": 1,
        "answered": 1,
        "seconds": 95,
        "answered_seconds": 95,
        "ai_seconds": 42,
        "ai_act": 35_000,
        "tel_act": 13_000,
        "er_hangup": 1,
        "advanced": 1,
    }
    assert figures["total_micros"] == 48_000


def test_early_hang_up_voicemail_and_unanswered_are_wasted_spend(settings):
    early, _ = counters.contribution(_call(duration_seconds=20), settings)
    assert early["early_hangups"] == 1 and early["waste_early_hangup"] == early["ai_est"] + early["tel_est"]
    voicemail, _ = counters.contribution(_call(status="voicemail", duration_seconds=20), settings)
    assert voicemail["waste_voicemail"] == 34_000 and "answered" not in voicemail
    busy, _ = counters.contribution(_call(status="busy"), settings)
    assert busy == {"calls": 1, "out_busy": 1}  # costs nothing, so no waste counter either


def test_a_call_without_creation_time_counts_nothing(settings):
    # Raw on purpose: documents without `created_at` at all (a shape the code never writes).
    assert counters.day_of({"status": "completed"}, "UTC") is None
    assert counters.contribution({"status": "completed", "duration_seconds": 5}, settings)[0] == {}


def test_day_is_the_utc_day_of_creation_by_default():
    assert counters.day_of(_call(), "UTC") == "2025-03-04"
    # Raw on purpose: a naive datetime (the Call model would make it aware before the rule sees it).
    naive = {"_id": "c1", "job_id": "j1", "status": "completed", "created_at": datetime(2025, 3, 4, 23, 59)}
    assert counters.day_of(naive, "UTC") == "2025-03-04"  # naive = UTC


def test_end_reason_keys_are_safe_field_names():
    assert counters.reason_key("hangup") == "er_hangup"
    assert counters.reason_key("a.b$c d") == "er_a_b_c_d"
    assert counters.reason_key(None) == "er_none"
    assert counters.reason_key("x" * 60) == "er_" + "x" * 40


def test_delta_moves_estimates_to_actuals_and_drops_zeros():
    old = {"calls": 1, "tel_est": 14_000, "ai_act": 5_000}
    new = {"calls": 1, "tel_act": 13_000, "ai_act": 5_000}
    assert counters.delta(new, old) == {"tel_est": -14_000, "tel_act": 13_000}
    assert counters.delta(new, new) == {}
    assert counters.money_micros({"ai_est": 1, "ai_act": 2, "tel_est": 3, "tel_act": 4, "calls": 9}) == 10


def test_a_typed_call_costs_and_counts_the_same_as_its_document(settings):
    doc = _call(
        duration_seconds=95,
        end_reason="hangup",
        billing_status="BILLING_STATUS_BILLED",
        billed_duration_seconds=37.0,
        review={"decision": "advance"},
        destination_country="GB",
    )
    typed = Call.model_validate(doc)
    assert costs.call_costs(typed, settings) == costs.call_costs(doc, settings)
    assert counters.contribution(typed, settings) == counters.contribution(doc, settings)
    assert costs.talk_seconds(typed) == costs.talk_seconds(doc) == Decimal(95)
    assert counters.day_of(typed, "UTC") == "2025-03-04"


def _usage(totals: dict[str, int]) -> usage_views.UsageData:
    return usage_views.usage_from_counters(
        date(2025, 3, 4), date(2025, 3, 4), None, {"2025-03-04": totals}, {}, {}
    )


def test_headline_is_typed_display_strings():
    head = usage_views.headline(
        _usage(
            {
                "calls": 4,
                "answered": 2,
                "out_completed": 2,
                "advanced": 1,
                "seconds": 275,
                "ai_act": 195_000,
                "tel_act": 56_000,
                "ai_est": 35_000,
                "tel_est": 28_000,
                "waste_voicemail": 34_000,
                "waste_early_hangup": 29_000,
                "foreign_priced": 1234,
            }
        )
    )
    assert head == usage_views.Headline(
        calls="4",
        answer_rate="50%",
        minutes="4.6",
        spend="0.314",
        estimated="0.063",
        per_completed="0.157",
        per_advanced="0.314",
        wasted="0.063",
        foreign_priced="1,234",
        foreign_priced_calls=1234,
    )
    assert head.has_foreign_priced


def test_headline_of_nothing_shows_dashes():
    head = usage_views.headline(_usage({}))
    assert (head.calls, head.answer_rate, head.per_completed, head.per_advanced) == ("0", "—", "—", "—")
    assert head.spend == "0.00" and not head.has_foreign_priced


def test_unit_costs_are_exact_ratios_or_none():
    usage = usage_views.usage_from_counters(
        date(2025, 3, 4),
        date(2025, 3, 4),
        None,
        {},
        {"j1": {"calls": 3, "out_completed": 3, "advanced": 0, "ai_act": 100_000}},
        {"j1": "Nurse"},
    )
    row = usage_views.unit_costs_per_job(usage.jobs).iloc[0]
    assert row["job"] == "Nurse" and row["total"] == Decimal("0.1")
    assert row["per_completed"] == Decimal("0.0333") and row["per_advanced"] is None
    assert list(usage_views.unit_costs_per_job(usage.jobs.iloc[0:0]).columns) == usage_views.UNIT_COST_COLUMNS


def test_page_defaults_and_range_checks():
    today = date(2025, 3, 31)
    assert usage_views.default_range(today) == (date(2025, 3, 2), today)
    assert usage_views.last_pickable_day(today) == date(2025, 4, 1)
    usage_views.check_range(date(2023, 3, 31), today)  # 731 days: allowed
    with pytest.raises(ValueError, match="at most"):
        usage_views.check_range(date(2023, 3, 30), today)
    with pytest.raises(ValueError, match="end date"):
        usage_views.check_range(today, date(2025, 3, 30))


def test_export_file_name_names_the_range_and_job():
    assert export.file_name(date(2025, 3, 1), date(2025, 3, 31)) == (
        "usage-all-jobs-2025-03-01-to-2025-03-31.csv")
    assert export.file_name(date(2025, 3, 1), date(2025, 3, 1), "Nurse (nights)") == (
        "usage-nurse-nights-2025-03-01-to-2025-03-01.csv")  # named after the job, never its id


@pytest.mark.parametrize(
    ("spent", "committed", "budget", "level", "message"),
    [
        ("10", "10", "100", "ok", "10.00 spent and 10.00 committed of 100.00 this month."),
        ("10", "85", "100", "warning", "10.00 spent and 85.00 committed of 100.00 this month (85%)"),
        ("90", "100", "100", "exceeded", "The monthly budget of 100.00 is used up: 90.00 spent and 100.00"),
        ("0", "0", "0", "exceeded", "The monthly budget of 0.00 is used up"),
    ],
)
def test_budget_level_follows_the_committed_figure(spent, committed, budget, level, message):
    state = budget_rule.budget_level(Decimal(spent), Decimal(budget), "2025-03", committed=Decimal(committed))
    assert state.level == level and state.month == "2025-03"
    assert state.message.startswith(message)
    assert state.remaining == max(Decimal(budget) - Decimal(committed), 0)


def test_budget_message_names_the_calls_counted_at_their_maximum():
    state = budget_rule.budget_level(Decimal(1), Decimal(100), "2025-03", committed=Decimal(3), in_progress=2)
    assert "(2 calls in progress counted at their maximum)" in state.message


def test_cli_reports_keep_their_keys_and_order():
    report = rollups.RebuildReport(calls=9, calls_fixed=1, rollups=5, rollups_removed=2)
    status = rollups.RollupStatus(possibly_uncounted=0, rollup_documents=5)
    merged = {**report.as_dict(), **status.as_dict()}
    assert list(merged) == [
        "calls",
        "calls_fixed",
        "rollups",
        "rollups_removed",
        "possibly_uncounted",
        "rollup_documents",
    ]
    assert merged["calls"] == 9 and merged["rollup_documents"] == 5


def _final_documents() -> list[dict]:
    """Each DATASET call as it is stored once every fact has landed on it."""
    finals = []
    for base, facts in DATASET:
        fields = {"status": "queued"}
        for fact in facts:
            fields.update(fact)
        finals.append(call(**base, **fields).to_doc())
    return finals


def test_the_rollup_dataset_sums_to_its_expected_day_counters(settings):
    # The integration rollup tests' expectations, from the counting rule alone (no database).
    days: dict[str, dict[str, int]] = {}
    for doc in _final_documents():
        counted, _ = counters.contribution(doc, settings)
        day = days.setdefault(counters.day_of(doc, "UTC"), {})
        for key, value in counted.items():
            day[key] = day.get(key, 0) + value
    assert {d: {k: v for k, v in c.items() if v} for d, c in days.items() if c} == EXPECTED_DAY


def test_the_rollup_dataset_costs_each_job_its_expected_total(settings):
    totals: dict[str, int] = {}
    for doc in _final_documents():
        if counters.day_of(doc, "UTC") in (D1.isoformat(), D2.isoformat()):
            counted, _ = counters.contribution(doc, settings)
            totals[doc["job_id"]] = totals.get(doc["job_id"], 0) + counters.money_micros(counted)
    assert totals == EXPECTED_JOB_TOTAL
