"""Headline numbers for the home page."""

from __future__ import annotations

from pymongo.database import Database

from core.documents.status import OPEN_STATUSES, TERMINAL_STATUSES
from core.db import CALLS, CANDIDATES, JOBS


def counts(db: Database) -> dict[str, int]:
    """Open jobs, candidates, calls in flight and finished calls."""
    return {
        "jobs": db[JOBS].count_documents({"status": {"$ne": "archived"}}),
        "candidates": db[CANDIDATES].estimated_document_count(),
        "calls_open": db[CALLS].count_documents(
            {"status": {"$in": [s.value for s in OPEN_STATUSES]}}
        ),
        "calls_done": db[CALLS].count_documents(
            {"status": {"$in": [s.value for s in TERMINAL_STATUSES]}}
        ),
    }
