"""Cost maths: 6-second blocks, estimates replaced by actuals, currencies, totals, no floats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.config import Settings
from core.usage import budget, costs
from tests.factories import call

T0 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        _env_file=None,
        provider_mode="sandbox",
        ultravox_rate_per_minute=Decimal("0.05"),
        telephony_rate_per_minute=Decimal("0.014"),
        telephony_rates_per_minute={"GB": Decimal("0.02")},
        cost_currency="USD",
    )


def _call(**fields) -> dict:
    """A stored completed call (the shape the cost maths read from the database)."""
    return call(**{"id": "c1", "job_id": "j1", "status": "completed", "created_at": T0, **fields}).to_doc()


@pytest.mark.parametrize(
    ("seconds", "billed", "amount"),
    [
        (0, 0, "0.000000"),
        (1, 6, "0.005000"),
        (6, 6, "0.005000"),
        (6.001, 12, "0.010000"),
        (37, 42, "0.035000"),  # the reference's own example
        (60, 60, "0.050000"),
        ("61.5", 66, "0.055000"),
    ],
)
def test_ai_cost_rounds_up_to_six_second_blocks(seconds, billed, amount):
    assert costs.ai_billed_seconds(seconds) == billed
    assert costs.ai_cost(seconds, Decimal("0.05")) == Decimal(amount)


def test_telephony_estimate_counts_started_minutes():
    assert costs.telephony_estimate(None, Decimal("0.014")) == 0
    assert costs.telephony_estimate(1, Decimal("0.014")) == Decimal("0.014")
    assert costs.telephony_estimate(60, Decimal("0.014")) == Decimal("0.014")
    assert costs.telephony_estimate(61, Decimal("0.014")) == Decimal("0.028")


def test_twilio_price_negative_string_becomes_positive_cost():
    assert costs.parse_twilio_price("-0.01300") == Decimal("0.013")
    assert costs.parse_twilio_price("0.0085") == Decimal("0.0085")
    assert costs.parse_twilio_price(None) is None
    assert costs.parse_twilio_price("") is None


def test_estimates_until_billed_then_actuals(settings):
    live = _call(duration_seconds=95)
    before = costs.call_costs(live, settings)
    assert before["ai_estimated"] and before["telephony_estimated"]
    assert before["ai"] == "0.08"  # 95 s → 96 s → 16 blocks × 0.005
    assert before["telephony"] == "0.028"  # 2 started minutes × 0.014

    billed = {**live, "billing_status": "BILLING_STATUS_BILLED", "billed_duration_seconds": 37.0}
    after_billing = costs.call_costs(billed, settings)
    assert not after_billing["ai_estimated"] and after_billing["ai"] == "0.035"
    assert after_billing["telephony_estimated"]

    priced = {**billed, "telephony_price": "-0.0130", "price_unit": "USD"}
    final = costs.call_costs(priced, settings)
    assert (final["ai_estimated"], final["telephony_estimated"]) == (False, False)
    assert final["telephony"] == "0.013"
    assert final["total"] == "0.048"
    assert final["total_micros"] == final["ai_micros"] + final["telephony_micros"] == 48_000


def test_free_billing_and_no_charge_are_actual_zero(settings):
    free = _call(duration_seconds=30, billing_status="BILLING_STATUS_FREE_CONSOLE", price_status="none")
    result = costs.call_costs(free, settings)
    assert result["ai_micros"] == result["telephony_micros"] == 0
    assert not result["ai_estimated"] and not result["telephony_estimated"]


def test_unanswered_call_costs_nothing_estimated(settings):
    result = costs.call_costs(_call(status="no_answer"), settings)
    assert result["total_micros"] == 0 and result["telephony_estimated"]


def test_estimate_uses_destination_country_rate(settings):
    gb = costs.call_costs(_call(duration_seconds=120, destination_country="gb"), settings)
    us = costs.call_costs(_call(duration_seconds=120), settings)
    assert gb["telephony"] == "0.04" and gb["telephony_country"] == "GB"
    assert us["telephony"] == "0.028" and us["telephony_country"] == "US"


def test_duration_falls_back_to_answer_and_end_times(settings):
    call = _call(answered_at=T0, ended_at=T0 + timedelta(seconds=61))
    assert costs.call_costs(call, settings)["telephony"] == "0.028"


def test_foreign_currency_price_stays_an_estimate_in_our_currency(settings):
    call = _call(duration_seconds=50, telephony_price="-0.0120", price_unit="EUR")
    result = costs.call_costs(call, settings)
    assert result["currency"] == "USD"
    assert result["telephony_estimated"] and result["telephony"] == "0.014"
    assert result["telephony_foreign"] == {"amount": "0.012", "unit": "EUR"}


def test_totals_keep_estimated_and_actual_apart(settings):
    calls = [
        _call(duration_seconds=95),
        _call(
            duration_seconds=37,
            billing_status="BILLING_STATUS_BILLED",
            billed_duration_seconds=37,
            telephony_price="-0.013",
            price_unit="USD",
        ),
        _call(status="busy"),
    ]
    totals = costs.total_of([costs.call_costs(c, settings) for c in calls])
    assert totals.calls == 3
    assert totals.ai_estimated == 80_000 and totals.ai_actual == 35_000
    assert totals.telephony_estimated == 28_000 and totals.telephony_actual == 13_000
    assert totals.total == 156_000
    assert costs.money_str(totals.total, micros=True) == "0.156"


def test_no_floats_anywhere_in_stored_costs(settings):
    # Raw on purpose: a fractional duration_seconds, which the Call model refuses, as an old or
    # odd document might hold; the cost maths must still give no floats.
    raw = {"_id": "c1", "job_id": "j1", "status": "completed", "created_at": T0, "duration_seconds": 95.5,
           "billing_status": "BILLING_STATUS_BILLED", "billed_duration_seconds": 0.1 + 0.2}
    result = costs.call_costs(raw, settings)
    for key, value in result.items():
        assert not isinstance(value, float), key
    # 0.1 + 0.2 is 0.30000000000000004 in binary: still exactly one 6-second block.
    assert result["ai"] == "0.005"
    assert isinstance(costs.to_decimal(0.1), Decimal) and costs.to_decimal(0.1) == Decimal("0.1")


def test_micros_round_trip_is_exact():
    for text in ("0", "0.000001", "0.035", "12.345678", "1000000"):
        assert costs.from_micros(costs.to_micros(text)) == Decimal(text)
    assert costs.money_str(Decimal("1.5")) == "1.50"
    assert costs.money_str(Decimal("0.0350")) == "0.035"


def test_an_hour_long_call_with_a_known_price(settings):
    # 60 billed minutes at 0.05 and Twilio's actual 0.84 (the launch test's month spend).
    result = costs.call_costs(
        _call(duration_seconds=3600, billed_duration_seconds=3600, telephony_price="0.84", price_unit="USD"),
        settings,
    )
    assert (result["ai"], result["telephony"], result["total"]) == ("3.00", "0.84", "3.84")


def test_the_usage_page_calls_cost_what_the_page_shows(settings):
    # The usage page test's calls: 0.195 + 0.056, 0.02 + 0.014, nothing, 0.015 + 0.014.
    calls = [
        _call(duration_seconds=240, end_reason="hangup", billing_status="BILLING_STATUS_BILLED",
              billed_duration_seconds=230.0, telephony_price="-0.056", price_unit="USD"),
        _call(status="voicemail", duration_seconds=20, end_reason="agent_hangup"),
        _call(status="no_answer"),
        _call(duration_seconds=15, end_reason="hangup"),
    ]
    figures = [costs.call_costs(c, settings) for c in calls]
    assert [(f["ai"], f["telephony"]) for f in figures] == [
        ("0.195", "0.056"), ("0.02", "0.014"), ("0.00", "0.00"), ("0.015", "0.014")
    ]
    assert costs.money_str(costs.total_of(figures).total, micros=True) == "0.314"


def test_a_ten_minute_billed_call_against_the_budget_levels(settings):
    # The rollup budget test's call: 600 billed seconds at 0.05 and Twilio's 0.14.
    figures = costs.call_costs(
        _call(duration_seconds=600, billing_status="BILLING_STATUS_BILLED", billed_duration_seconds=600.0,
              telephony_price="-0.14", price_unit="USD"),
        settings,
    )
    spent = Decimal(figures["total"])
    assert spent == Decimal("0.64")
    assert budget.budget_level(spent, Decimal("0.70"), "2025-03").level == "warning"
    assert budget.budget_level(spent, Decimal("0.64"), "2025-03").level == "exceeded"
    assert budget.budget_level(spent, Decimal("100"), "2025-03").remaining == Decimal("99.36")


def test_one_money_format_for_pages_and_exports() -> None:
    from decimal import Decimal

    from core.usage.costs import money_text

    assert money_text(Decimal("0.103"), "USD") == "0.103 USD"
    assert money_text(Decimal("1.5"), "EUR", estimated=True) == "≈ 1.50 EUR"
    assert money_text(35_000, "USD", micros=True) == "0.035 USD"
    assert money_text(None, "USD") == "—"
