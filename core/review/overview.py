"""Headline numbers for the home page."""

from __future__ import annotations

from core.db import Database
from core.people import store as people_store
from core.review import store
from core.review.models import Overview


def counts(db: Database) -> Overview:
    """Open jobs, candidates, calls in flight and finished calls."""
    calls_open, calls_done = store.call_counts(db)
    return Overview(jobs=people_store.count_open_jobs(db), candidates=people_store.count_candidates(db),
                    calls_open=calls_open, calls_done=calls_done)
