"""Agreement of the knockouts with the decisions, and average ratings by decision."""

from __future__ import annotations

from core.review.agreement import (
    ALL_PASSED,
    NOT_ENOUGH,
    SOME_FAILED,
    agreement,
    ratings_by_decision,
)
from core.review.pipeline import Knockouts, PipelineRow, Stage

PASS, FAIL, UNDECIDED = (Knockouts(2, 0, 2), Knockouts(1, 1, 2), Knockouts(1, 0, 2))


def row(decision, k, ratings=None):
    return PipelineRow(candidate_id="x", name="x", phone="", stage=Stage.ADVANCED, stage_text="",
                       knockouts=k, summary="", reviewer="", call_id=None, decision=decision,
                       ratings=ratings or {})


def test_no_reviews_yet_says_so_plainly():
    for rows in ([], [row(None, PASS)], [row("advance", None)], [row("advance", UNDECIDED)]):
        result = agreement(rows)
        assert result.reviewed == 0 and result.sentence == NOT_ENOUGH
    assert ratings_by_decision([row(None, PASS, {"q": 3})], [("q", "Q?")]) == []


def test_the_table_and_the_sentence():
    rows = ([row("advance", PASS)] * 5 + [row("reject", FAIL)] * 3 + [row("advance", FAIL)]
            + [row("reject", PASS)] + [row("hold", PASS)] * 2 + [row("hold", FAIL)]
            + [row("advance", UNDECIDED), row(None, FAIL)])
    result = agreement(rows)
    assert result.table == {ALL_PASSED: {"advance": 5, "hold": 2, "reject": 1},
                            SOME_FAILED: {"advance": 1, "hold": 1, "reject": 3}}
    assert (result.agreed, result.decided, result.held) == (8, 10, 3)
    assert result.sentence == "Knockouts agreed with 8 of 10 decisions (3 on hold, counted apart)."


def test_only_holds():
    result = agreement([row("hold", PASS)])
    assert result.decided == 0 and "on hold (1)" in result.sentence


def test_average_rating_per_question_by_decision():
    questions = [("years", "Years driving?"), ("why", "Why us?"), ("never", "Nobody rated this?")]
    rows = [row("advance", PASS, {"years": 4, "why": 5}), row("advance", None, {"years": 5}),
            row("reject", FAIL, {"years": 1}), row(None, None, {"years": 1})]
    got = ratings_by_decision(rows, questions)
    assert [(r.question, r.averages) for r in got] == [
        ("Years driving?", {"advance": 4.5, "hold": None, "reject": 1.0}),
        ("Why us?", {"advance": 5.0, "hold": None, "reject": None}),
    ]
