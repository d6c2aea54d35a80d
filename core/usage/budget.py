"""The one budget rule: every call reserves its maximum cost before it is claimed.

One document per month (the claim's month in the organisation's time zone, core.usage.period)
holds what the month's calls have committed, in total and per job. Before a call is claimed, one
conditional `$inc` reserves the most it can cost (its maximum duration at the AI rate, plus
telephony at the destination's rate up to Twilio's hard stop) against the global budget and the
job's; when the call ends, the unused part is given back (`settle_call`, idempotent through a
compare-and-set on the call). A call whose outcome is unknown stays counted at its maximum. The
launch check, the dispatcher and the usage page all read this figure; `check_month` repairs the
document from the calls after a crash between the two writes, and `move_to_zone` re-cuts the
months when the organisation's time zone changes.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core import faults
from core.agent.models import GlobalVoiceConfig
from core.config import get_settings
from core.db import Database, field_key, new_id, server_now
from core.documents.call import Call, CallBudget
from core.documents.status import TERMINAL_STATUSES, CallStatus
from core.providers.telephony import TIME_LIMIT_SLACK_SECONDS
from core.usage import budget_store, costs, spend
from core.usage.costs import BUDGET_WARNING_FRACTION, from_micros, money_str, to_decimal, to_micros
from core.usage.period import month_key, organisation_zone
from core.usage.spend import spend_this_month

log = logging.getLogger(__name__)

# Ended with a known outcome: counted at their cost. Open calls and `unknown` ones are counted
# at their maximum (an unknown call may still have talked for its whole length).
_SETTLED = sorted(s.value for s in TERMINAL_STATUSES if s != CallStatus.UNKNOWN)
_NEVER_SETTLED = [CallStatus.UNKNOWN.value, CallStatus.QUEUED.value]
_AT_MAXIMUM = sorted(s.value for s in CallStatus if s.value not in _SETTLED and s != CallStatus.QUEUED)
# A rebuild holds reservations this long at most, and waits this long for reservations and
# releases already under way to land on both documents before it reads the calls.
_REBUILD_HOLD = timedelta(seconds=15)
_REBUILD_GRACE_SECONDS = 1.5
# A time zone moves the first instant of a month by at most 26 hours (UTC-12 to UTC+14): only
# calls dialled this close to a month's start can change month with the zone.
_BOUNDARY_REACH = timedelta(hours=27)


@dataclass(frozen=True)
class Reservation:
    """A call's share of its month, reserved before its claim and stored on it."""

    month: str
    job_id: str
    micros: int

    def as_record(self) -> dict[str, object]:
        """The call's `budget` field."""
        return {"month": self.month, "job_id": self.job_id, "micros": self.micros}


@dataclass(frozen=True)
class NoRoom:
    """Why a call could not reserve its maximum cost."""

    reason: str
    # Calls in progress hold reservations at their maximum; when they end, room may return.
    may_free_up: bool = False
    busy: bool = False  # the month document was being rebuilt: try again in a moment


def max_call_micros(config: GlobalVoiceConfig, country: str | None) -> int:
    """The most one call can cost: the agent's maximum length at the AI rate, and telephony at
    the destination's rate up to Twilio's hard stop (maximum length + its slack)."""
    settings = get_settings()
    seconds = int(config.max_duration_minutes) * 60
    ai = costs.ai_cost(seconds, settings.ultravox_rate_per_minute)
    rate = costs.telephony_rate(settings, (country or settings.default_phone_region).upper())
    telephony = costs.telephony_estimate(seconds + TIME_LIMIT_SLACK_SECONDS, rate)
    return to_micros(ai + telephony)


def _caps(global_cfg: GlobalVoiceConfig, job_cfg: GlobalVoiceConfig) -> tuple[int, int]:
    cap = to_micros(global_cfg.monthly_budget)
    return cap, min(to_micros(job_cfg.monthly_budget), cap)


def precheck(db: Database, *, job_id: str, global_cfg: GlobalVoiceConfig, job_cfg: GlobalVoiceConfig,
             country: str | None) -> NoRoom | None:
    """Would a call fit now? A read only, so a launch can refuse before it records anything;
    the reservation itself (`reserve`) is what decides."""
    micros = max_call_micros(job_cfg, country)
    cap, job_cap = _caps(global_cfg, job_cfg)
    month = _open_month(db, server_now(db))
    doc = budget_store.get_month(db, month)
    committed = doc.committed_micros if doc else 0
    job_committed = doc.jobs.get(field_key(job_id), 0) if doc else 0
    if committed + micros > cap or job_committed + micros > job_cap:
        return _no_room(db, month, job_id, micros, cap, job_cap)
    return None


def reserve(db: Database, *, job_id: str, global_cfg: GlobalVoiceConfig, job_cfg: GlobalVoiceConfig,
            country: str | None, wait_seconds: float = 3.0) -> Reservation | NoRoom:
    """Reserve a call's maximum cost in this month against the global and the job's budget."""
    micros = max_call_micros(job_cfg, country)
    cap, job_cap = _caps(global_cfg, job_cfg)
    deadline = time.monotonic() + wait_seconds
    while True:
        month = _open_month(db, server_now(db))
        if budget_store.try_reserve(db, month, job_id, micros, cap_micros=cap, job_cap_micros=job_cap):
            return Reservation(month, job_id, micros)
        doc = budget_store.get_month(db, month)
        rebuilding = doc is not None and doc.rebuilding_until is not None \
            and doc.rebuilding_until > server_now(db)
        if not rebuilding:
            return _no_room(db, month, job_id, micros, cap, job_cap)
        if time.monotonic() >= deadline:
            return NoRoom("The budget is being recounted; try again in a moment.", busy=True)
        time.sleep(0.2)


def _open_month(db: Database, now: datetime) -> str:
    """The month of `now` (the organisation's zone, read afresh), its document created if missing;
    returns the month key."""
    month = month_key(now, organisation_zone(db))
    if budget_store.get_month(db, month) is None:
        # Calls placed before this rule hold no reservation: their cost so far starts the month.
        budget_store.open_month(db, month, earlier_micros=spend.month_spend_micros(db, month))
    return month


def _no_room(db: Database, month: str, job_id: str, micros: int, cap: int, job_cap: int) -> NoRoom:
    doc = budget_store.get_month(db, month)
    committed = doc.committed_micros if doc else 0
    job_committed = doc.jobs.get(field_key(job_id), 0) if doc else 0
    in_progress = budget_store.count_open_reservations(db, month, _AT_MAXIMUM)
    # Not the same count: a call that has just ended holds its maximum until its cost is
    # settled a moment later, and the refused call must look again then, not wait for a person.
    releasable = budget_store.count_releasable(db, month, _NEVER_SETTLED)
    if not releasable:
        # A release lands on the call first and on the month a moment later: read the month
        # again, so a call refused in between looks again rather than waiting for a person.
        again = budget_store.get_month(db, month)
        again_committed = again.committed_micros if again else 0
        again_job = again.jobs.get(field_key(job_id), 0) if again else 0
        releasable = int(again_committed + micros <= cap and again_job + micros <= job_cap)
    pending = (f" {in_progress} call{'s' if in_progress != 1 else ''} in progress "
               f"{'are' if in_progress != 1 else 'is'} counted at their maximum until they end."
               if in_progress else "")
    one_call = money_str(micros, micros=True)
    if committed + micros > cap:
        reason = (f"Over the monthly budget: {money_str(committed, micros=True)} of "
                  f"{money_str(cap, micros=True)} is committed this month and one more call may "
                  f"cost up to {one_call}.{pending}")
    else:
        reason = (f"Over this job's monthly budget: {money_str(job_committed, micros=True)} of its "
                  f"{money_str(job_cap, micros=True)} is committed this month and one more call may "
                  f"cost up to {one_call}.{pending}")
    return NoRoom(reason, may_free_up=releasable > 0)


def unreserve(db: Database, reservation: Reservation) -> None:
    """Give a reservation back (its call was not claimed after all)."""
    budget_store.add(db, reservation.month, reservation.job_id, -reservation.micros)


def settle_call(db: Database, call_id: str) -> bool:
    """Count a call at what it should count now (idempotent); True if the month changed.

    Open or unknown: its reservation. Ended: its cost (once the usage sync has computed it).
    The compare-and-set on the call lets exactly one process apply each change to the month.
    """
    for _ in range(3):
        call = budget_store.budget_call(db, call_id)
        if call is None or call.budget is None:
            return False
        held = call.budget
        target = _target(call, held)
        if target == held.counted_micros:
            return False
        if budget_store.set_counted(db, call_id, old=held.counted, new=target):
            faults.point("after_budget_release")
            budget_store.add(db, held.month, held.job_id, target - held.counted_micros)
            return True
    return False


def settle_calls(db: Database, call_ids: Sequence[str]) -> int:
    """`settle_call` for many calls: one read, one command of compare-and-sets and one of month
    changes for the batch; returns how many calls' counts changed."""
    targets: list[tuple[str, int | None, int]] = []
    holds: dict[str, tuple[str, str, int]] = {}
    for call in budget_store.budget_calls(db, list(dict.fromkeys(call_ids))):
        if call.budget is None:
            continue
        held = call.budget
        target = _target(call, held)
        if target != held.counted_micros:
            targets.append((call.id, held.counted, target))
            holds[call.id] = (held.month, held.job_id, target - held.counted_micros)
    changed = budget_store.set_counted_many(db, targets, token=new_id())
    if changed:
        faults.point("after_budget_release")
        budget_store.add_many(db, [holds[call_id] for call_id in changed])
    # One that changed meanwhile is settled on its own, at what it should count now.
    return len(changed) + sum(settle_call(db, call_id) for call_id, _, _ in targets if call_id not in changed)


def _target(call: Call, held: CallBudget) -> int:
    """What the month should count for the call now: its cost once ended, else its reservation."""
    if call.status.value in _SETTLED and call.costs is not None:
        return call.costs.total_micros
    return held.micros


def check_month(db: Database, *, now: datetime | None = None, owner: str | None = None,
                settle_limit: int = 200) -> str:
    """The sweeper's repair: settle missed releases, then rebuild the month if it drifted.

    A crash between the call's write and the month's (either way) leaves the month document
    off; it is recomputed from the calls while reservations wait a moment. Returns what it did.
    """
    now = now or server_now(db)
    owner = owner or _owner()
    month = month_key(now, organisation_zone(db))
    settled = sum(settle_call(db, i) for i in budget_store.unsettled_ids(db, month, _SETTLED,
                                                                           limit=settle_limit))
    if _drift(db, month) == 0:
        return f"settled {settled}" if settled else ""
    time.sleep(_REBUILD_GRACE_SECONDS)  # a reservation or release under way lands meanwhile
    if _drift(db, month) == 0:
        return f"settled {settled}" if settled else ""
    if not budget_store.start_rebuild(db, month, owner=owner, until=server_now(db) + _REBUILD_HOLD):
        return "another process is recounting the budget"
    time.sleep(_REBUILD_GRACE_SECONDS)
    return _recount(db, month, owner)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _recount(db: Database, month: str, owner: str) -> str:
    """Write a held month's totals recomputed from its calls and let reservations in again."""
    by_job = budget_store.counted_by_job(db, month)
    before = budget_store.get_month(db, month)
    was, earlier = (before.committed_micros, before.earlier_micros) if before else (0, 0)
    now_committed = earlier + sum(by_job.values())
    if not budget_store.finish_rebuild(db, month, owner=owner, committed=now_committed, jobs=by_job):
        return "the budget recount was interrupted"
    if was != now_committed:
        log.warning("budget %s rebuilt from the calls: committed %s -> %s", month,
                    money_str(was, micros=True), money_str(now_committed, micros=True))
    return (f"budget {month} recounted: {money_str(was, micros=True)} -> "
            f"{money_str(now_committed, micros=True)}")


def _month_starts_around(now: datetime) -> list[datetime]:
    """The first instants (UTC) of the previous, this and the next UTC month."""
    first = datetime(now.year, now.month, 1, tzinfo=UTC)
    before = (first - timedelta(days=1)).replace(day=1)
    after = (first + timedelta(days=32)).replace(day=1)
    return [before, first, after]


def _moves(db: Database, zone: str, now: datetime) -> list[tuple[str, str, str]]:
    """(call, month it is counted in, month it belongs to in `zone`) for each reservation of a
    call dialled near a month boundary around `now` that sits in the wrong month."""
    windows = [(edge - _BOUNDARY_REACH, edge + _BOUNDARY_REACH) for edge in _month_starts_around(now)]
    rows = budget_store.reservations_dialed_in(db, windows)
    return [(call_id, held, month_key(dialed, zone)) for call_id, held, dialed in rows
            if month_key(dialed, zone) != held]


def move_to_zone(db: Database, zone: str, old_zone: str, *, now: datetime | None = None,
                 owner: str | None = None) -> list[str] | None:
    """After the organisation's time zone changed from `old_zone` to `zone`: count each call
    dialled near a month boundary in its month in `zone`, then recount from the calls every
    month that lost or gained one (and this month in both zones). Returns what it did, or None
    when another process was recounting one of those months (nothing was moved: try again).

    The months are held (no reservation lands) while calls move, after a moment for the
    reservations and releases under way to land, as in `check_month`.
    """
    now = now or server_now(db)
    owner = owner or _owner()
    months = {month_key(now, zone), month_key(now, old_zone)}
    months |= {m for move in _moves(db, zone, now) for m in move[1:]}
    held = []
    for month in sorted(months):
        if not budget_store.start_rebuild(db, month, owner=owner, until=server_now(db) + _REBUILD_HOLD):
            for taken in held:
                budget_store.cancel_rebuild(db, taken, owner=owner)
            return None
        held.append(month)
    time.sleep(_REBUILD_GRACE_SECONDS)  # a reservation or release under way lands meanwhile
    moved = 0
    for call_id, old, new in _moves(db, zone, now):  # again: calls may have been claimed meanwhile
        if old in months and new in months:
            moved += budget_store.move_reservation(db, call_id, old=old, new=new)
        else:
            log.warning("call %s is counted in budget month %s; left there (not held)", call_id, old)
    return [f"{moved} call{'s' if moved != 1 else ''} moved to their month in {zone}",
            *(_recount(db, month, owner) for month in held)]


def _drift(db: Database, month: str) -> int:
    """How far the month document is from the calls' own figures (0 when in line)."""
    doc = budget_store.get_month(db, month)
    by_job = budget_store.counted_by_job(db, month)
    if doc is None:
        return sum(by_job.values())
    drift = abs(doc.committed_micros - doc.earlier_micros - sum(by_job.values()))
    keys = {field_key(j): v for j, v in by_job.items()}
    for key in set(keys) | {k for k, v in doc.jobs.items() if v}:
        drift += abs(doc.jobs.get(key, 0) - keys.get(key, 0))
    return drift


# -- what the usage page shows ---------------------------------------------------------------


@dataclass(frozen=True)
class BudgetState:
    """This month against the monthly budget: `spent` (the calls' costs so far, from the usage
    figures) and `committed` (what the dialer counts: ended calls at their cost, calls in
    progress at their maximum). `level` is ok, warning (from 80 % committed) or exceeded."""

    month: str
    budget: Decimal
    spent: Decimal
    level: str
    message: str
    committed: Decimal = Decimal(0)
    in_progress: int = 0

    @property
    def remaining(self) -> Decimal:
        """Budget not yet committed this month (never negative)."""
        return max(self.budget - self.committed, Decimal(0))

    @property
    def fraction(self) -> Decimal:
        """Share of the budget committed (1 when the budget is zero and anything was)."""
        if self.budget <= 0:
            return Decimal(1) if self.committed > 0 else Decimal(0)
        return self.committed / self.budget


def budget_level(spent: Decimal, budget: Decimal, month: str, *, committed: Decimal | None = None,
                 in_progress: int = 0) -> BudgetState:
    """The level and message of a month's figures against `budget` (warning from 80 %)."""
    committed = spent if committed is None else committed
    held = (f" ({in_progress} call{'s' if in_progress != 1 else ''} in progress counted at "
            "their maximum)" if in_progress else "")
    figures = f"{money_str(spent)} spent and {money_str(committed)} committed{held}"
    if committed >= budget:
        level = "exceeded"
        message = (f"The monthly budget of {money_str(budget)} is used up: {figures}. New calls wait "
                   "until calls in progress end under their maximum, next month, or a higher budget.")
    elif budget > 0 and committed >= budget * BUDGET_WARNING_FRACTION:
        level = "warning"
        message = (f"{figures} of {money_str(budget)} this month ({committed / budget:.0%}); "
                   "calls stop when the budget is committed.")
    else:
        level = "ok"
        message = f"{figures} of {money_str(budget)} this month."
    return BudgetState(month=month, budget=budget, spent=spent, level=level, message=message,
                       committed=committed, in_progress=in_progress)


def budget_state(db: Database, monthly_budget: Decimal | str | int, *,
                 now: datetime | None = None) -> BudgetState:
    """This month's spent and committed figures against `monthly_budget`."""
    now = now or server_now(db)
    zone = organisation_zone(db)
    month = month_key(now, zone)
    doc = budget_store.get_month(db, month)
    spent = spend_this_month(db, now=now, zone=zone)
    # No reservation yet this month: the first one starts from what was spent (see _open_month).
    committed = from_micros(max(doc.committed_micros, 0)) if doc else spent
    in_progress = budget_store.count_open_reservations(db, month, _AT_MAXIMUM) if doc else 0
    return budget_level(spent, to_decimal(monthly_budget), month, committed=committed,
                        in_progress=in_progress)
