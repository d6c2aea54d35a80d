"""A usage rollup (`usage_rollups`): the summed counters of one day (in the organisation's time
zone, core.usage.period), or of one job on a day.

Owned by core.usage: `_id` is "day|YYYY-MM-DD" (scope "day", job_id None) or
"job|YYYY-MM-DD|<job id>" (scope "job"); the counters live under `c`.
"""

from __future__ import annotations

from pydantic import Field

from core.documents.base import Document, Instant


class Rollup(Document):
    """One rollup document as stored."""

    scope: str = ""  # "day" | "job"
    day: str = ""
    month: str = ""
    job_id: str | None = None
    c: dict[str, int] = Field(default_factory=dict)
    updated_at: Instant = None
    rebuild: str | None = None  # the id of the rebuild run that last wrote it, if one did

    @property
    def counters(self) -> dict[str, int]:
        """The summed counters (absent ones are zero)."""
        return self.c
