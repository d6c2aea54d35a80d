"""Would the next call exceed the monthly budget? (pure, with the spend given)"""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.agent import defaults as agent_defaults
from core.calling.budget import budget_problem
from core.usage.spend import estimated_call_cost


@pytest.fixture(autouse=True)
def _default_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shipped per-minute rates (0.05 AI + 0.014 telephony), whatever the environment says.
    monkeypatch.delenv("ULTRAVOX_RATE_PER_MINUTE", raising=False)
    monkeypatch.delenv("TELEPHONY_RATE_PER_MINUTE", raising=False)


def _config(budget: str):
    return agent_defaults.default_global_config().model_copy(update={"monthly_budget": Decimal(budget)})


def test_one_call_may_cost_its_maximum_length_at_both_rates() -> None:
    config = agent_defaults.default_global_config()
    assert config.max_duration_minutes == 15
    assert estimated_call_cost(config) == Decimal("0.96")  # 15 min x (0.05 + 0.014)


def test_the_next_call_is_held_when_it_could_cross_the_budget() -> None:
    # 3.84 spent (60 billed minutes and a 0.84 price): a 0.96 call does not fit 4.00, fits 5.00.
    problem = budget_problem(None, _config("4.00"), spent=Decimal("3.84"))
    assert problem is not None and "Over the monthly budget" in problem
    assert "$3.84 spent" in problem and "$0.96" in problem and "$4.00" in problem
    assert budget_problem(None, _config("5.00"), spent=Decimal("3.84")) is None


def test_a_budget_smaller_than_one_call_holds_every_call() -> None:
    assert "monthly budget" in budget_problem(None, _config("0.50"), spent=Decimal(0))
    assert budget_problem(None, _config("0.96"), spent=Decimal(0)) is None
