"""The admin's limits are ceilings: a job may lower concurrency, pace and budget, never raise them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.agent import settings as agent_settings
from core.agent.validation import ConfigValidationError
from core.auth import User
from core.auth.roles import Role
from core.calling import gate, gate_store
from core.db import APP_STATE, CALLS, JOB_VOICE_CONFIGS
from core.people.jobs import create_job

ADMIN = User("ada", "Ada", Role.ADMIN)
RECRUITER = User("rita", "Rita", Role.RECRUITER)


@pytest.fixture
def job(db):
    return create_job(db, ADMIN, title="Barista", company="Bean Co")


@pytest.mark.parametrize(("field", "value", "words"), [
    ("max_concurrent_calls", 100, "at most 5 for a job"),
    ("calls_per_second", 3.0, "at most 1 for a job"),
    ("monthly_budget", "900", "at most 500.00 for a job"),
])
def test_a_job_value_above_the_global_limit_is_refused_not_clamped(db, job, field, value, words):
    with pytest.raises(ConfigValidationError, match=words) as info:
        agent_settings.save_job_config(db, RECRUITER, job.id, {field: value})
    assert "may lower but not raise" in str(info.value)
    assert db[JOB_VOICE_CONFIGS].count_documents({}) == 0  # nothing saved


def test_a_job_may_lower_the_limits_and_stays_under_a_global_lowered_later(db, job):
    agent_settings.save_job_config(db, RECRUITER, job.id, {"max_concurrent_calls": 4,
                                                           "monthly_budget": "100"})
    effective = agent_settings.job_effective_config(db, job.id)
    assert effective.max_concurrent_calls == 4 and effective.monthly_budget == Decimal("100")
    cfg = agent_settings.get_global_config(db)
    agent_settings.save_global_config(db, ADMIN, cfg.model_copy(update={"max_concurrent_calls": 2,
                                                                          "monthly_budget": Decimal(50)}))
    effective = agent_settings.job_effective_config(db, job.id)
    assert effective.max_concurrent_calls == 2 and effective.monthly_budget == Decimal(50)


def _limits(job_id: str, *, cps: float = 20.0, concurrent: int = 10, job_cps: float | None = None,
            job_concurrent: int | None = None) -> gate.Limits:
    return gate.Limits(cps, concurrent, job_id, job_cps, job_concurrent)


def _live(db, *ids: str) -> None:
    """Calls in progress (the gate frees the slots of calls that are not)."""
    db[CALLS].insert_many([{"_id": i, "status": "in_progress"} for i in ids])


def test_a_jobs_lower_concurrency_holds_its_calls_and_not_other_jobs(db, test_env):
    _live(db, "a", "b", "c")
    assert gate.acquire_slot(db, "a", limits=_limits("j1", job_concurrent=1), max_wait=1).granted
    refused = gate.acquire_slot(db, "b", limits=_limits("j1", job_concurrent=1), max_wait=1)
    assert not refused.granted and "calls of this job are in progress" in refused.reason
    assert gate.acquire_slot(db, "c", limits=_limits("j2"), max_wait=1).granted
    assert sorted(gate_store.read_gate(db, gate.DIAL_GATE).inflight) == ["a", "c"]
    db[CALLS].update_one({"_id": "a"}, {"$set": {"status": "completed"}})  # its slot is swept
    assert gate.acquire_slot(db, "b", limits=_limits("j1", job_concurrent=1), max_wait=1).granted


def test_a_jobs_lower_pace_spaces_its_calls_only(db, test_env):
    slow = _limits("j1", job_cps=0.2)  # one dial of this job per 5 s
    assert gate.acquire_slot(db, "a", limits=slow, max_wait=0).granted
    waiting = gate.acquire_slot(db, "b", limits=slow, max_wait=0)
    assert not waiting.granted and 3.5 < waiting.wait <= 5.5
    assert gate.acquire_slot(db, "c", limits=_limits("j2"), max_wait=1).granted


def test_slots_taken_before_jobs_had_limits_count_and_are_released(db, test_env):
    _live(db, "old-call", "new-call")
    db[APP_STATE].insert_one({"_id": gate.DIAL_GATE, "inflight": ["old-call"]})
    assert gate.inflight_count(db) == 1
    one_at_a_time = gate.Limits(20.0, 1, "j1", None, 1)
    assert not gate.acquire_slot(db, "new-call", limits=one_at_a_time, max_wait=0).granted
    gate.release_slot(db, "old-call")
    assert gate.inflight_count(db) == 0
    assert gate.acquire_slot(db, "new-call", limits=one_at_a_time, max_wait=0).granted


def test_a_dispatcher_past_its_deadline_gets_a_refusal_not_an_error_and_holds_no_slot(db, test_env):
    # A dispatcher whose time ran out asks with a negative wait; that once raised from
    # time.sleep() between taking the slot's turn and giving it back, leaking the slot.
    slow = _limits("j1", job_cps=0.2)
    assert gate.acquire_slot(db, "a", limits=slow, max_wait=0).granted
    late = gate.acquire_slot(db, "b", limits=slow, max_wait=-3.5)
    assert not late.granted
    assert gate_store.read_gate(db, gate.DIAL_GATE).inflight == ["a"]
