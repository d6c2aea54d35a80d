"""How the knockout rules agreed with the hiring team's decisions, and the average rating per
question by decision (pure, over pipeline rows).

Agreement pairs "all knockouts passed" with advance and "some failed" with reject; a hold is
neither, so it is counted apart. Candidates whose answers left a knockout undecided (a rule
with no answer and none failed) have no knockout result and are left out of the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.review.pipeline import PipelineRow

DECISIONS: tuple[str, ...] = ("advance", "hold", "reject")
ALL_PASSED, SOME_FAILED = "all passed", "some failed"
NOT_ENOUGH = ("Not enough reviews yet: agreement shows once a reviewer has decided on a candidate "
              "whose call has a knockout result.")


@dataclass(frozen=True)
class Agreement:
    """The 2×3 table (knockout result × decision), the agreeing count and the sentence."""

    table: dict[str, dict[str, int]] = field(default_factory=dict)
    agreed: int = 0
    decided: int = 0  # advanced or rejected (the decisions knockouts can agree with)
    held: int = 0

    @property
    def reviewed(self) -> int:
        """Candidates in the table."""
        return self.decided + self.held

    @property
    def sentence(self) -> str:
        """One sentence saying how often knockouts agreed (or that there is too little yet)."""
        if not self.reviewed:
            return NOT_ENOUGH
        if not self.decided:
            return f"Every reviewed candidate with a knockout result is on hold ({self.held}); " \
                   "knockouts agree only with advance or reject."
        held = f" ({self.held} on hold, counted apart)" if self.held else ""
        return f"Knockouts agreed with {self.agreed} of {self.decided} decisions{held}."


def agreement(rows: Iterable[PipelineRow]) -> Agreement:
    """Of the reviewed candidates with a knockout result: result × decision, and how many agree."""
    table = {result: dict.fromkeys(DECISIONS, 0) for result in (ALL_PASSED, SOME_FAILED)}
    for row in rows:
        k = row.knockouts
        if row.decision not in DECISIONS or k is None:
            continue
        if k.all_passed:
            table[ALL_PASSED][row.decision] += 1
        elif k.some_failed:
            table[SOME_FAILED][row.decision] += 1
    agreed = table[ALL_PASSED]["advance"] + table[SOME_FAILED]["reject"]
    decided = sum(table[r][d] for r in table for d in ("advance", "reject"))
    held = sum(table[r]["hold"] for r in table)
    return Agreement(table=table, agreed=agreed, decided=decided, held=held)


@dataclass(frozen=True)
class RatingRow:
    """One question's average rating under each decision (None: no rating given)."""

    question: str
    averages: dict[str, float | None]


def ratings_by_decision(rows: Iterable[PipelineRow],
                        questions: Sequence[tuple[str, str]]) -> list[RatingRow]:
    """The average rating of each question (id, text) among advanced, held and rejected
    candidates, one decimal; questions nobody rated are left out ([] when none was rated)."""
    sums: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        if row.decision not in DECISIONS:
            continue
        for qid, rating in row.ratings.items():
            sums.setdefault((qid, row.decision), []).append(rating)
    if not sums:
        return []
    out = []
    for qid, text in questions:
        averages = {d: (round(sum(v) / len(v), 1) if (v := sums.get((qid, d))) else None)
                    for d in DECISIONS}
        if any(v is not None for v in averages.values()):
            out.append(RatingRow(question=text, averages=averages))
    return out
