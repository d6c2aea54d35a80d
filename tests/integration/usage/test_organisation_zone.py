"""The organisation time zone on the real database: usage days, the budget month, and re-cutting
both when an admin changes the zone in Global settings."""

from __future__ import annotations

import csv
import io
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from core.agent import defaults as agent_defaults
from core.agent import effective as agent_effective
from core.agent import settings as agent_settings
from core.agent import validation as agent_validation
from core.auth import PermissionDenied, User
from core.auth.roles import Role
from core.db import AUDIT_LOG, BUDGETS, CALLS, CONFIG_VERSIONS, ROLLUPS, server_now
from core.usage import budget, budget_store, period, rollups
from core.usage import export as usage_export
from core.usage import views as usage_views
from tests.factories import insert_call

ADMIN = User("ada", "Ada", Role.ADMIN)
RECRUITER = User("rita", "Rita", Role.RECRUITER)
NEW_YORK = "America/New_York"
EARLY_MARCH = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)  # 28 Feb, 22:00 in New York
MID_MARCH = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
MAR_1, FEB_28 = date(2026, 3, 1), date(2026, 2, 28)


def _save_zone(db, zone: str, actor: User = ADMIN) -> agent_settings.SaveResult:
    stored = agent_settings.load_global(db)
    return agent_settings.save_global_config(
        db, actor, {**agent_effective.as_plain(stored.config), "organisation_zone": zone},
        base_version=stored.version)


def _calls_on(db, day: date) -> int:
    """Calls counted on a day, read the way the usage page reads them."""
    return int(usage_views.usage_summary(db, day, day).totals.get("calls", 0))


def _seed_early_march_call(db) -> None:
    insert_call(db, id="late", job_id="j1", status="completed", duration_seconds=61, created_at=EARLY_MARCH)
    insert_call(db, id="mid", job_id="j1", status="no_answer", created_at=MID_MARCH)
    for call_id in ("late", "mid"):
        rollups.record_terminal(db, call_id)


def test_the_zone_is_utc_until_an_admin_sets_one(db):
    assert period.organisation_zone(db) == "UTC"
    assert agent_settings.get_global_config(db).organisation_zone == "UTC"
    _seed_early_march_call(db)
    assert (_calls_on(db, FEB_28), _calls_on(db, MAR_1)) == (0, 1)


def test_changing_the_zone_moves_the_usage_figures_to_their_days(db):
    _seed_early_march_call(db)
    result = _save_zone(db, NEW_YORK)
    assert result.changed and result.note == ""
    assert period.organisation_zone(db) == NEW_YORK
    # The usage page's reader now counts the late call on 28 February (New York), not 1 March.
    assert (_calls_on(db, FEB_28), _calls_on(db, MAR_1)) == (1, 0)
    assert _calls_on(db, date(2026, 3, 10)) == 1  # a call mid-month keeps its day
    assert db[ROLLUPS].find_one({"_id": "day|2026-03-01"}) is None
    assert db[ROLLUPS].find_one({"_id": "day|2026-02-28"})["month"] == "2026-02"
    assert db[CALLS].find_one({"_id": "late"})["rollup"]["day"] == "2026-02-28"
    # A later change to the call (its price arrives) lands on its new day, once.
    db[CALLS].update_one({"_id": "late"}, {"$set": {"telephony_price": "-0.02", "price_unit": "USD"}})
    assert rollups.record_price(db, "late")
    feb_28 = db[ROLLUPS].find_one({"_id": "day|2026-02-28"})["c"]
    assert feb_28["calls"] == 1 and feb_28["tel_act"] == 20_000 and feb_28["tel_est"] == 0
    assert db[ROLLUPS].find_one({"_id": "day|2026-03-01"}) is None
    # The export selects and labels the same days.
    out = io.StringIO()
    assert usage_export.export_csv(db, out, FEB_28, FEB_28).rows == 1
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["call_id"], r["day"]) for r in rows] == [("late", "2026-02-28")]
    out = io.StringIO()
    assert usage_export.export_csv(db, out, MAR_1, MAR_1).rows == 0
    # Audited: the setting change with its field, and the recount.
    entries = {e["action"]: e for e in db[AUDIT_LOG].find({"actor": "ada"})}
    changed = entries["global_config.update"]["changes"]
    assert changed == {"organisation_zone": {"old": "UTC", "new": NEW_YORK}}
    assert "daily figures recounted from 2 calls" in entries["usage.recount"]["detail"]
    # And back: the figures follow again.
    _save_zone(db, "UTC")
    assert (_calls_on(db, FEB_28), _calls_on(db, MAR_1)) == (0, 1)


def test_an_unknown_zone_is_refused_and_nothing_changes(db):
    _seed_early_march_call(db)
    before = list(db[ROLLUPS].find({}, {"c": 1}).sort("_id"))
    with pytest.raises(agent_validation.ConfigValidationError) as exc:
        _save_zone(db, "Mars/Olympus_Mons")
    assert exc.value.messages == [
        "Organisation time zone: “Mars/Olympus_Mons” is not a time zone this system knows; pick one "
        "from the list (for example Europe/London or America/New_York)."]
    assert agent_settings.load_global(db).version == 0
    assert db[CONFIG_VERSIONS].count_documents({}) == 0 and db[AUDIT_LOG].count_documents({}) == 0
    assert list(db[ROLLUPS].find({}, {"c": 1}).sort("_id")) == before
    with pytest.raises(PermissionDenied):  # only admins change the organisation's settings
        _save_zone(db, NEW_YORK, RECRUITER)
    assert period.organisation_zone(db) == "UTC"


def _reserved_call(db, call_id: str, *, month: str, dialed_at: datetime, micros: int) -> None:
    """A call claimed with its reservation in `month`, and that month's document holding it."""
    insert_call(db, id=call_id, job_id="j1", status="in_progress", created_at=dialed_at,
                dialed_at=dialed_at, budget={"month": month, "job_id": "j1", "micros": micros})
    budget_store.add(db, month, "j1", micros)


def _committed(db, month: str) -> int:
    doc = db[BUDGETS].find_one({"_id": budget_store.month_id(month)})
    return doc["committed_micros"] if doc else 0


def test_a_reservation_near_the_boundary_moves_to_its_month_once(db):
    # Reserved under UTC: two calls in "2026-03", one dialled late on 28 February New York time.
    _reserved_call(db, "edge", month="2026-03", dialed_at=EARLY_MARCH, micros=900_000)
    _reserved_call(db, "inside", month="2026-03", dialed_at=EARLY_MARCH + timedelta(days=9), micros=100_000)
    _reserved_call(db, "feb", month="2026-02", dialed_at=EARLY_MARCH - timedelta(days=9), micros=50_000)
    _save_zone(db, NEW_YORK)  # the real clock's months hold none of these: nothing moves yet
    assert db[CALLS].find_one({"_id": "edge"})["budget"]["month"] == "2026-03"

    report = budget.move_to_zone(db, NEW_YORK, "UTC", now=EARLY_MARCH, owner="test")
    assert report[0] == "1 call moved to their month in America/New_York"
    assert db[CALLS].find_one({"_id": "edge"})["budget"]["month"] == "2026-02"
    assert db[CALLS].find_one({"_id": "inside"})["budget"]["month"] == "2026-03"
    # Counted once, in its New York month; both documents equal their calls again.
    assert (_committed(db, "2026-02"), _committed(db, "2026-03")) == (950_000, 100_000)
    for month in ("2026-02", "2026-03"):
        doc = db[BUDGETS].find_one({"_id": budget_store.month_id(month)})
        assert "rebuilding_until" not in doc and doc["jobs"] == budget_store.counted_by_job(db, month)
    assert budget.check_month(db, now=EARLY_MARCH) == ""  # this (New York) month is in line
    # Its release later lands on the month it now belongs to.
    ended = {"status": "completed", "costs": {"total_micros": 40_000}}
    db[CALLS].update_one({"_id": "edge"}, {"$set": ended})
    assert budget.settle_call(db, "edge")
    assert (_committed(db, "2026-02"), _committed(db, "2026-03")) == (90_000, 100_000)
    # Moving it again changes nothing: it is already in its month.
    assert budget.move_to_zone(db, NEW_YORK, "UTC", now=EARLY_MARCH, owner="test")[0].startswith("0 calls")
    assert (_committed(db, "2026-02"), _committed(db, "2026-03")) == (90_000, 100_000)


def test_the_budget_month_and_this_months_spend_follow_the_zone(db):
    _seed_early_march_call(db)
    _save_zone(db, NEW_YORK)
    state = budget.budget_state(db, "500", now=EARLY_MARCH)
    assert state.month == "2026-02"
    assert state.spent > 0  # the late call's cost is February's in New York
    assert budget.budget_state(db, "500", now=EARLY_MARCH + timedelta(hours=6)).spent < state.spent


def test_a_reservation_made_now_uses_the_saved_zone(db):
    _save_zone(db, "Pacific/Kiritimati")  # UTC+14: a new month starts there first
    held = budget.reserve(db, job_id="j1", global_cfg=agent_defaults.default_global_config(),
                          job_cfg=agent_defaults.default_global_config(), country="US", wait_seconds=0)
    assert isinstance(held, budget.Reservation)
    assert held.month == period.month_key(server_now(db), "Pacific/Kiritimati")


def test_reservations_wait_while_the_months_are_re_cut(db):
    _save_zone(db, NEW_YORK)
    cfg = agent_defaults.default_global_config()
    recut = threading.Thread(target=budget.move_to_zone, args=(db, NEW_YORK, "UTC"))
    recut.start()
    time.sleep(0.5)  # inside its grace: this month is held
    try:
        held = budget.reserve(db, job_id="j1", global_cfg=cfg, job_cfg=cfg, country="US", wait_seconds=0)
        assert isinstance(held, budget.NoRoom) and held.busy
    finally:
        recut.join()
    held = budget.reserve(db, job_id="j1", global_cfg=cfg, job_cfg=cfg, country="US", wait_seconds=0)
    assert isinstance(held, budget.Reservation)

