"""When the organisation's time zone changes: cut the usage days and budget months again.

The daily rollups hold each call under its day in the zone in force when it was counted, and
each reservation sits in the month in force when it was made; after a new zone is saved both
are recounted from the calls (`rollups.rebuild`, `budget.move_to_zone`), and audited.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from core import audit
from core.db import Database
from core.usage import budget, rollups, store

log = logging.getLogger(__name__)

# A rebuild already running (the CLI's, or another admin's change) is waited for this long.
_WAIT_FOR_REBUILD_SECONDS = 120.0
_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Recut:
    """What the re-cut did; `note` says in words what was left undone ("" when nothing)."""

    rollups: rollups.RebuildReport | None
    budget: list[str]
    note: str = ""


def recut_for_zone(db: Database, *, zone: str, old_zone: str, actor: str) -> Recut:
    """Recount the daily usage figures and the budget months in `zone` (just saved); audited."""
    # The budget first: it decides which calls may be placed, and its months are held at once.
    months = _move_budget_when_free(db, zone, old_zone)
    report = _rebuild_when_free(db)
    note = "" if report and months is not None else (
        "Not everything could be recounted yet because another recount is still running: until an "
        "operator recounts it, some days or the budget near the start of the month may follow the "
        "previous time zone.")
    budget_words = months if months is not None else ["budget months not re-cut (another recount ran)"]
    audit.record(db, actor=actor, action="usage.recount", entity="usage", entity_id="rollups",
                 changes={"organisation_zone": {"old": old_zone, "new": zone}},
                 detail="; ".join([_rollup_words(report), *budget_words]))
    log.info("usage re-cut for time zone %s (was %s)", zone, old_zone)
    return Recut(report, months or [], note)


def _move_budget_when_free(db: Database, zone: str, old_zone: str) -> list[str] | None:
    """Re-cut the budget months, waiting for a recount of one of them (the sweeper's) to finish."""
    deadline = time.monotonic() + _WAIT_FOR_REBUILD_SECONDS
    while (done := budget.move_to_zone(db, zone, old_zone)) is None and time.monotonic() < deadline:
        time.sleep(_POLL_SECONDS)
    if done is None:
        log.warning("budget months not re-cut after the time zone change: another recount runs")
    return done


def _rebuild_when_free(db: Database) -> rollups.RebuildReport | None:
    """Rebuild the rollups, waiting for a rebuild already running (it may have read the old zone)."""
    deadline = time.monotonic() + _WAIT_FOR_REBUILD_SECONDS
    while True:
        try:
            return rollups.rebuild(db)
        except rollups.RebuildRunning:
            if time.monotonic() >= deadline:
                log.warning("usage rollups not rebuilt after the time zone change: another rebuild runs")
                return None
            while store.rebuild_running(db) and time.monotonic() < deadline:
                time.sleep(_POLL_SECONDS)


def _rollup_words(report: rollups.RebuildReport | None) -> str:
    if report is None:
        return "daily figures not recounted (another recount was running)"
    return f"daily figures recounted from {report.calls} calls"
