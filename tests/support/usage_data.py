"""Usage data shared by the usage, chart and CLI tests: aggregated counters as the views build them,
and a set of calls with the facts that land on them and the rollups they must sum to."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.db import CALLS
from core.usage import rollups
from core.usage import views as usage_views
from tests import factories


def sample_usage(jobs: int = 2) -> usage_views.UsageData:
    """Two days of counters (3 calls, then 1 voicemail) and `jobs` jobs, from 2 to 4 March 2025."""
    days = {
        "2025-03-03": {
            "calls": 3,
            "out_completed": 2,
            "out_no_answer": 1,
            "answered": 2,
            "seconds": 300,
            "answered_seconds": 300,
            "ai_act": 200_000,
            "tel_est": 42_000,
            "er_hangup": 2,
        },
        "2025-03-04": {
            "calls": 1,
            "out_voicemail": 1,
            "seconds": 20,
            "waste_voicemail": 19_000,
            "ai_est": 5_000,
            "tel_est": 14_000,
            "er_agent_hangup": 1,
        },
    }
    job_counters = {
        f"j{i}": {"calls": 2, "out_completed": 1, "advanced": i % 2, "ai_act": 100_000 + i, "tel_est": 28_000}
        for i in range(jobs)
    }
    return usage_views.usage_from_counters(date(2025, 3, 2), date(2025, 3, 4), None, days, job_counters, {})


D1, D2, D3 = date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)


def at(day: date, hour: int) -> datetime:
    """That hour of that day, in UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# Each call: where it starts (the factory's fields of a queued call), then the facts that land on
# it, in delivery order (each one `$set` on the stored call, as the event code writes it).
DATASET: list[tuple[dict, list[dict]]] = [
    (
        {"id": "c1", "job_id": "j1", "created_at": at(D1, 10)},
        [
            {"status": "completed", "duration_seconds": 95, "end_reason": "hangup"},
            {"billing_status": "BILLING_STATUS_BILLED", "billed_duration_seconds": 37.0},
            {"telephony_price": "-0.01300", "price_unit": "USD"},
            {"review": {"decision": "advance"}},
        ],
    ),
    (
        {"id": "c2", "job_id": "j1", "created_at": at(D1, 11)},
        [
            {"status": "completed", "duration_seconds": 20, "end_reason": "hangup"},
        ],
    ),
    (
        {"id": "c3", "job_id": "j1", "created_at": at(D1, 12)},
        [
            # Price and billing before the status: order must not matter.
            {"telephony_price": "-0.0085", "price_unit": "USD"},
            {"billing_status": "BILLING_STATUS_BILLED", "billed_duration_seconds": 12.0},
            {"status": "voicemail", "duration_seconds": 15, "end_reason": "agent_hangup"},
        ],
    ),
    (
        {"id": "c4", "job_id": "j2", "created_at": at(D1, 13)},
        [
            {"status": "no_answer"},
            {"price_status": "none"},
        ],
    ),
    (
        {"id": "c5", "job_id": "j2", "created_at": at(D2, 9)},
        [
            {"status": "completed", "duration_seconds": 300, "end_reason": "timeout"},
            {"billing_status": "BILLING_STATUS_BILLED", "billed_duration_seconds": 290.0},
            {"telephony_price": "-0.0700", "price_unit": "USD"},
            {"review": {"decision": "reject"}},
        ],
    ),
    ({"id": "c6", "job_id": "j2", "created_at": at(D2, 10)}, [{"status": "busy"}]),
    ({"id": "c7", "job_id": "j1", "created_at": at(D2, 11)}, [{"status": "in_progress"}]),
    (
        {"id": "c8", "job_id": "j1", "created_at": at(D2, 12)},
        [
            {"status": "completed", "duration_seconds": 130, "end_reason": "hangup"},
            {"billing_status": "BILLING_STATUS_FREE_MINUTES"},
            {"review": {"decision": "advance"}},
        ],
    ),
    (
        {"id": "c9", "job_id": "j2", "created_at": at(D3, 9)},
        [
            {"status": "completed", "duration_seconds": 60, "end_reason": "hangup"},
            {"billing_status": "BILLING_STATUS_BILLED", "billed_duration_seconds": 60.0},
        ],
    ),
]

EXPECTED_DAY = {
    D1.isoformat(): {
        "calls": 4,
        "out_completed": 2,
        "out_voicemail": 1,
        "out_no_answer": 1,
        "answered": 2,
        "seconds": 130,
        "answered_seconds": 115,
        "ai_seconds": 42 + 24 + 12,
        "ai_act": 35_000 + 10_000,
        "ai_est": 20_000,
        "tel_act": 13_000 + 8_500,
        "tel_est": 14_000,
        "advanced": 1,
        "early_hangups": 1,
        "waste_early_hangup": 34_000,
        "waste_voicemail": 18_500,
        "er_hangup": 2,
        "er_agent_hangup": 1,
    },
    D2.isoformat(): {
        "calls": 3,
        "out_completed": 2,
        "out_busy": 1,
        "answered": 2,
        "seconds": 430,
        "answered_seconds": 430,
        "ai_seconds": 294,
        "ai_act": 245_000,
        "tel_act": 70_000,
        "tel_est": 42_000,
        "advanced": 1,
        "er_timeout": 1,
        "er_hangup": 1,
    },
    D3.isoformat(): {
        "calls": 1,
        "out_completed": 1,
        "answered": 1,
        "seconds": 60,
        "answered_seconds": 60,
        "ai_seconds": 60,
        "ai_act": 50_000,
        "tel_est": 14_000,
        "er_hangup": 1,
    },
}
# Totals (micros) per job over D1..D2.
EXPECTED_JOB_TOTAL = {"j1": 35_000 + 13_000 + 34_000 + 18_500 + 42_000, "j2": 245_000 + 70_000}


def seed_dataset(db, *, duplicate: bool = True) -> None:
    """The jobs and the DATASET calls, each fact applied with the rollup hook after it (twice when
    `duplicate`: a redelivered event must move nothing)."""
    factories.insert_job(db, id="j1", title="Backend engineer")
    factories.insert_job(db, id="j2", title="Nurse")
    for base, facts in DATASET:
        call = factories.insert_call(db, **base, status="queued")
        for fact in facts:
            # What the event code does: its own update, then the rollup hook right after.
            db[CALLS].update_one({"_id": call.id}, {"$set": fact})
            rollups.sync_call(db, call.id)
            if duplicate:  # a redelivered event runs the hook again: nothing may move
                assert rollups.sync_call(db, call.id) is False
