"""The worker's fixed task list: (name, function, every N seconds).

Each function takes the Database and returns a short summary string (or None).
"""

from __future__ import annotations

from collections.abc import Callable

from core.calling import dispatch, sweeper
from core.db import Database
from core.lifecycle import reconcile
from core.privacy import provider_deletions
from core.review import retention
from core.usage import budget

TASKS: list[tuple[str, Callable[[Database], object], float]] = [
    ("dispatch", dispatch.run_once, 1.0),
    ("sweep", sweeper.run_once, 30.0),
    ("reconcile", reconcile.run_once, 15.0),
    ("budget", budget.check_month, 300.0),
    ("purge", retention.purge_step, 60.0),
    # Deletions at the providers an erasure could not finish at once (core.privacy).
    ("erasure", provider_deletions.run_once, 60.0),
]
