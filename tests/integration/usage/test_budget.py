"""The one budget rule on the real database: reservations, releases, job caps and the repair."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from core.agent.defaults import default_global_config
from core.agent.models import GlobalVoiceConfig
from core.calling import store as call_store
from core.calling.transitions import advance_status
from core.db import BUDGETS, CALLS
from core.documents.status import CallStatus
from core.usage import budget, budget_store, period

ONE_CALL = 974_000  # 15 min × $0.05 + 16 started minutes × $0.014 (US)


def config(monthly_budget: str, **fields) -> GlobalVoiceConfig:
    return default_global_config().model_copy(update={"monthly_budget": Decimal(monthly_budget), **fields})


def reserve(db, job_id: str = "j1", *, total: str = "10", job: str | None = None,
            country: str = "US") -> budget.Reservation | budget.NoRoom:
    return budget.reserve(db, job_id=job_id, global_cfg=config(total), job_cfg=config(job or total),
                          country=country, wait_seconds=0)


def claimed_call(db, call_id: str, held: budget.Reservation, *, job_id: str = "j1") -> None:
    """A call claimed with its reservation, as admission leaves it."""
    doc = call_store.new_call_doc(f"cand-{call_id}", job_id, actor="t")
    doc["_id"] = call_id
    call_store.insert_call(db, doc)
    assert call_store.claim(db, call_id, by="t", budget=held.as_record()) is not None


def month_doc(db) -> dict:
    return db[BUDGETS].find_one({"_id": budget_store.month_id(period.month_key(None, "UTC"))})


def test_a_calls_maximum_is_its_length_at_both_rates_up_to_twilios_hard_stop(test_env, monkeypatch):
    assert budget.max_call_micros(config("10"), "US") == ONE_CALL
    assert budget.max_call_micros(config("10", max_duration_minutes=5), "US") == 250_000 + 84_000
    monkeypatch.setenv("TELEPHONY_RATES_PER_MINUTE", '{"GB": "0.10"}')
    from core.config import get_settings
    get_settings.cache_clear()
    assert budget.max_call_micros(config("10"), "gb") == 750_000 + 1_600_000  # 16 min × $0.10


def test_three_racing_reservations_of_the_last_call_leave_exactly_one(db):
    results: list[object] = []
    barrier = threading.Barrier(3)

    def take() -> None:
        barrier.wait()
        results.append(reserve(db, total="1.50"))

    threads = [threading.Thread(target=take) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in results if isinstance(r, budget.Reservation)]
    assert len(won) == 1 and len(results) == 3
    assert month_doc(db)["committed_micros"] == ONE_CALL


def test_a_job_budget_caps_that_job_only(db):
    assert isinstance(reserve(db, "j1", total="10", job="1.00"), budget.Reservation)
    refused = reserve(db, "j1", total="10", job="1.00")
    assert isinstance(refused, budget.NoRoom) and "this job's monthly budget" in refused.reason
    assert isinstance(reserve(db, "j2", total="10"), budget.Reservation)  # other jobs go on
    doc = month_doc(db)
    assert doc["committed_micros"] == 2 * ONE_CALL and doc["jobs"] == {"j1": ONE_CALL, "j2": ONE_CALL}


def test_a_refusal_names_the_calls_still_counted_at_their_maximum(db):
    claimed_call(db, "c1", reserve(db, total="1.50"))
    refused = reserve(db, total="1.50")
    assert isinstance(refused, budget.NoRoom) and refused.may_free_up
    assert "0.974 of 1.50 is committed" in refused.reason
    assert "1 call in progress is counted at their maximum" in refused.reason
    assert budget.precheck(db, job_id="j1", global_cfg=config("1.50"), job_cfg=config("1.50"),
                           country="US") is not None


def test_a_call_refused_just_after_the_last_call_ended_looks_again_soon(db):
    # The last call in progress has ended but its cost is not settled yet: it still holds its
    # maximum, so the refused call must look again shortly rather than wait for a person.
    claimed_call(db, "c1", reserve(db, total="1.50"))
    db[CALLS].update_one({"_id": "c1"}, {"$set": {"status": "completed"}})
    refused = reserve(db, total="1.50")
    assert isinstance(refused, budget.NoRoom) and refused.may_free_up
    # An unknown outcome never gives its maximum back: nothing to wait for.
    db[CALLS].update_one({"_id": "c1"}, {"$set": {"status": "unknown"}})
    refused = reserve(db, total="1.50")
    assert isinstance(refused, budget.NoRoom) and not refused.may_free_up


def test_an_ended_call_gives_back_the_unused_part_once(db):
    claimed_call(db, "c1", reserve(db))
    db[CALLS].update_one({"_id": "c1"}, {"$set": {"status": "completed",
                                                  "costs": {"total_micros": 120_000}}})
    assert budget.settle_call(db, "c1") is True
    assert budget.settle_call(db, "c1") is False  # a second release changes nothing
    assert month_doc(db)["committed_micros"] == 120_000
    assert call_store.get_call(db, "c1").budget.counted == 120_000


def test_a_call_of_unknown_outcome_stays_counted_at_its_maximum(db):
    claimed_call(db, "c1", reserve(db))
    assert advance_status(db, "c1", CallStatus.UNKNOWN, fields={"failure_reason": "stuck"})
    assert month_doc(db)["committed_micros"] == ONE_CALL
    # A provider's late answer replaces unknown: then it counts at its cost.
    assert advance_status(db, "c1", CallStatus.NO_ANSWER)
    assert month_doc(db)["committed_micros"] == 0


@pytest.mark.parametrize("crash", ["after_reserve", "between_call_and_month", "release_never_ran"])
def test_the_repair_brings_the_month_back_in_line_with_the_calls(db, crash):
    claimed_call(db, "c1", reserve(db))
    if crash == "after_reserve":  # reserved, then the process died before its claim
        reserve(db)
    elif crash == "between_call_and_month":  # the call says released, the month never heard
        db[CALLS].update_one({"_id": "c1"}, {"$set": {"status": "completed", "costs": {"total_micros": 5},
                                                      "budget.counted": 5}})
    else:  # ended, but the release never ran
        db[CALLS].update_one({"_id": "c1"}, {"$set": {"status": "completed", "costs": {"total_micros": 5}}})
    expected = 5 if crash != "after_reserve" else ONE_CALL
    assert month_doc(db)["committed_micros"] != expected
    report = budget.check_month(db)
    assert report
    doc = month_doc(db)
    assert doc["committed_micros"] == expected and doc["jobs"] == {"j1": expected}
    assert "rebuilding_until" not in doc
    # A missed release is simply settled; a month off from its calls is recounted.
    assert ("rebuilt_at" in doc) is (crash != "release_never_ran")
    assert budget.check_month(db) == ""  # in line now: nothing more to do


def test_reservations_wait_while_the_month_is_recounted(db):
    from datetime import timedelta

    from core.db import server_now

    month = period.month_key(None, "UTC")
    assert budget_store.start_rebuild(db, month, owner="other", until=server_now(db) + timedelta(seconds=30))
    held = reserve(db)
    assert isinstance(held, budget.NoRoom) and held.busy
    assert budget_store.finish_rebuild(db, month, owner="other", committed=0, jobs={})
    assert isinstance(reserve(db), budget.Reservation)


def test_the_usage_figures_show_spent_and_committed(db):
    claimed_call(db, "c1", reserve(db, total="10"))
    state = budget.budget_state(db, "10")
    assert state.committed == Decimal("0.974") and state.in_progress == 1 and state.spent == 0
    assert state.level == "ok" and "1 call in progress counted at their maximum" in state.message


def test_calls_placed_before_reservations_start_the_month_at_their_cost(db):
    from core.db import utcnow
    from core.usage import rollups

    db[CALLS].insert_one({"_id": "old", "job_id": "j1", "status": "completed", "created_at": utcnow(),
                          "billed_duration_seconds": 600, "duration_seconds": 600,
                          "billing_status": "BILLING_STATUS_BILLED", "telephony_price": "0.14",
                          "price_unit": "USD"})
    rollups.sync_call(db, "old")  # $0.50 AI + $0.14 telephony, no reservation on the call
    assert budget.budget_state(db, "10").committed == Decimal("0.64")
    claimed_call(db, "c1", reserve(db))
    doc = month_doc(db)
    assert doc["earlier_micros"] == 640_000 and doc["committed_micros"] == 640_000 + ONE_CALL
    assert budget.check_month(db) == ""  # the earlier calls are part of the month, not drift
    assert isinstance(reserve(db, total="1.60"), budget.NoRoom)  # 0.64 + 0.974 + 0.974 > 1.60
