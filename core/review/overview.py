"""Headline numbers for the home page."""

from __future__ import annotations

from core.db import Database
from core.review import store
from core.review.models import Overview


def counts(db: Database) -> Overview:
    """Open jobs, candidates, calls in flight and finished calls."""
    return store.overview_counts(db)
