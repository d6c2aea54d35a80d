"""A month of the budget (`budgets`): what the calls claimed in it have committed.

Owned by core.usage: `_id` is "budget:YYYY-MM" (the claim's month in the organisation's time
zone). `committed_micros` is the sum, over those calls, of what each counts (its maximum cost
while open or of unknown outcome, its cost once ended); `jobs` holds the same per job (keys from
core.db.field_key). `earlier_micros` is what calls without a reservation (placed before this
rule existed) had cost when the document was created; it stays part of the committed total.
`rebuilding_until` is set while the sweeper recomputes the document from the calls.
"""

from __future__ import annotations

from pydantic import Field

from core.documents.base import Document, Instant


class BudgetMonth(Document):
    """One month's budget document as stored."""

    month: str = ""
    committed_micros: int = 0
    earlier_micros: int = 0  # what calls placed before this rule had cost when the month opened
    jobs: dict[str, int] = Field(default_factory=dict)
    reservations: int = 0
    rebuilding_until: Instant = None
    rebuilt_by: str | None = None
    rebuilt_at: Instant = None
