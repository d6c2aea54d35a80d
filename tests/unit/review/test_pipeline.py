"""The pipeline's stage rules: every stage reachable, the precedence, the words and the filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.review.models import QuestionAnswer
from core.review.pipeline import (
    FUNNEL_ORDER,
    Knockouts,
    PipelineRow,
    Stage,
    call_rank,
    filter_rows,
    knockout_words,
    knockouts,
    ratings_by_question,
    speaking_call,
    stage_counts,
    stage_of,
    stage_text,
    value_words,
)
from tests import factories

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
JOB = "job1"
QUESTIONS = [
    {"id": "years", "text": "Years driving?", "type": "number", "unit": "years",
     "knockout": {"at_least": 2}},
    {"id": "nights", "text": "Nights ok?", "type": "yes_no", "knockout": {"must_be": True}},
    {"id": "why", "text": "Why us?"},
]


def person(**fields):
    return factories.candidate(**fields)


def call(status="completed", minutes=0, decision=None, **fields):
    if decision:
        fields.setdefault("review", {"decision": decision, "by": "rita"})
    return factories.call(**{"candidate_id": "c1", "job_id": JOB, "status": status,
                             "created_at": T0 + timedelta(minutes=minutes), **fields})


def stage(cand=None, calls=(), max_attempts=3):
    return stage_of(cand or person(), list(calls), job_id=JOB, max_attempts=max_attempts)


def test_every_stage_is_reachable_and_each_rule_says_why():
    due = T0 + timedelta(hours=2)
    first = call("no_answer", attempt=1)
    cases = {
        Stage.DO_NOT_CALL: stage(person(do_not_call=True)),
        Stage.ASKED_FOR_HUMAN: stage(person(human_requested={JOB: {"reason": "deaf"}})),
        Stage.CALLING: stage(calls=[call("ringing")]),
        Stage.RETRY: stage(calls=[first, call("queued", 5, attempt=2, retry_of=first.id,
                                               next_attempt_at=due)]),
        Stage.SCHEDULED: stage(calls=[call("queued", next_attempt_at=due)]),
        Stage.UNKNOWN: stage(calls=[call("unknown")]),
        Stage.ADVANCED: stage(calls=[call(decision="advance")]),
        Stage.ON_HOLD: stage(calls=[call(decision="hold")]),
        Stage.REJECTED: stage(calls=[call(decision="reject")]),
        Stage.AWAITING_REVIEW: stage(calls=[call()]),
        Stage.NOT_CALLED: stage(),
    }
    assert {s: v.stage for s, v in cases.items()} == {s: s for s in Stage}
    retry = cases[Stage.RETRY]
    assert (retry.at, retry.attempt, retry.of) == (due, 2, 3)


def test_precedence_first_match_wins():
    reviewed = call(decision="advance")
    live = call("in_progress", 10)
    queued = call("queued", 20, next_attempt_at=T0)
    # A standing block beats a live call; a live call beats a queued one and a decision.
    assert stage(person(do_not_call=True, human_requested={JOB: {}}), [live]).stage == Stage.DO_NOT_CALL
    assert stage(person(human_requested={JOB: {}}), [live]).stage == Stage.ASKED_FOR_HUMAN
    assert stage(calls=[reviewed, live, queued]).stage == Stage.CALLING
    assert stage(calls=[reviewed, queued]).stage == Stage.SCHEDULED
    # A human request for another job does not block this one.
    assert stage(person(human_requested={"other": {}}), [reviewed]).stage == Stage.ADVANCED
    # Unknown outranks a decision only when the unknown call is the one that speaks: a reviewed
    # call speaks before a later unknown one.
    assert stage(calls=[reviewed, call("unknown", 30)]).stage == Stage.ADVANCED
    assert stage(calls=[call("no_answer"), call("unknown", 30)]).stage == Stage.UNKNOWN
    assert stage(calls=[call("completed"), call("unknown", 30)]).stage == Stage.AWAITING_REVIEW


def test_a_call_back_or_requeue_is_scheduled_not_a_retry():
    first = call("completed", attempt=1, callback={"at": T0})
    back = call("queued", 5, attempt=1, retry_of=first.id, next_attempt_at=T0 + timedelta(days=1))
    assert stage(calls=[first, back]).stage == Stage.SCHEDULED
    held = call("queued", hold_reason="time zone unknown")
    verdict = stage(calls=[held])
    assert verdict.stage == Stage.SCHEDULED and "held: time zone unknown" in stage_text(verdict, "UTC", None)


def test_unanswered_calls_leave_the_candidate_not_called_with_how_it_went():
    verdict = stage(calls=[call("no_answer"), call("busy", 10)])
    assert verdict.stage == Stage.NOT_CALLED
    assert stage_text(verdict, "UTC", None) == \
        "not called — not reached: last attempt: line busy (2 attempts)"


def test_speaking_call_prefers_reviewed_then_completed_then_newest():
    old_done, reviewed, newest = call(), call("no_answer", 5, decision="hold"), call("voicemail", 9)
    assert speaking_call([newest, old_done]) is old_done
    assert speaking_call([old_done, reviewed, newest]) is reviewed
    assert speaking_call([call("no_answer"), newest]) is newest
    assert speaking_call([call("queued")]) is None
    assert call_rank(reviewed) > call_rank(old_done) > call_rank(newest)


def test_stage_text_shows_both_zones():
    due = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    first = call("busy")
    verdict = stage(calls=[first, call("queued", 1, attempt=2, retry_of=first.id, next_attempt_at=due)],
                    max_attempts=4)
    text = stage_text(verdict, "Europe/Paris", "America/Chicago")
    assert text == "retry at 2 Mar 2026, 16:00 CET (09:00 for the candidate, Chicago), attempt 2 of 4"
    assert stage_text(verdict, "UTC", "UTC") == "retry at 2 Mar 2026, 15:00 UTC, attempt 2 of 4"


def test_values_and_knockouts_in_words():
    assert [value_words(v, u) for v, u in [(True, ""), (False, ""), (5.0, "years"), (2.5, ""),
                                           ("Nights", ""), (None, "")]] == \
        ["yes", "no", "5 years", "2.5", "Nights", ""]
    assert [knockout_words(v) for v in (True, False, None)] == ["passed", "not passed", ""]


def _answer(qid, passed):
    return QuestionAnswer(number=1, question="", guidance="", question_id=qid, knockout_passed=passed)


def test_knockout_tally_counts_only_questions_with_a_rule():
    c = call(config_snapshot={"config": {"screening_questions": QUESTIONS}})
    assert knockouts(c, [_answer("years", True), _answer("nights", True), _answer("why", None)]) == \
        Knockouts(passed=2, failed=0, total=2)
    mixed = knockouts(c, [_answer("years", False), _answer("nights", None)])
    assert (mixed.text, mixed.all_passed, mixed.some_failed) == ("0 of 2", False, True)
    assert knockouts(call(), []).text == ""


def test_ratings_by_question_reads_ids_and_legacy_positions():
    snap = {"config": {"screening_questions": QUESTIONS}}
    by_id = call(config_snapshot=snap, review={"decision": "advance", "ratings": {"years": 4, "why": 2}})
    legacy = call(config_snapshot=snap, review={"decision": "hold", "ratings": {"2": 5}})
    assert ratings_by_question(by_id) == {"years": 4, "why": 2}
    assert ratings_by_question(legacy) == {"nights": 5}


def _row(name, stage_, passed=None):
    k = None if passed is None else Knockouts(passed=2 if passed else 1, failed=0 if passed else 1, total=2)
    return PipelineRow(candidate_id=name, name=name, phone="", stage=stage_, stage_text=stage_.label,
                       knockouts=k, summary="", reviewer="", call_id=None)


def test_filters_and_counts():
    rows = [_row("Ann Archer", Stage.ADVANCED, True), _row("Bob Stone", Stage.REJECTED, False),
            _row("Anna Bell", Stage.NOT_CALLED)]
    assert [r.name for r in filter_rows(rows, stages=[Stage.ADVANCED, Stage.NOT_CALLED])] == \
        ["Ann Archer", "Anna Bell"]
    assert [r.name for r in filter_rows(rows, search="ann")] == ["Ann Archer", "Anna Bell"]
    assert [r.name for r in filter_rows(rows, search="bell ann")] == ["Anna Bell"]
    assert [r.name for r in filter_rows(rows, all_passed=True)] == ["Ann Archer"]
    counts = stage_counts(rows)
    assert list(counts) == list(FUNNEL_ORDER) and set(FUNNEL_ORDER) == set(Stage)
    assert (counts[Stage.ADVANCED], counts[Stage.REJECTED], counts[Stage.NOT_CALLED],
            counts[Stage.CALLING]) == (1, 1, 1, 0)


@pytest.mark.parametrize("stage_", list(Stage))
def test_every_stage_has_plain_words(stage_):
    assert stage_.label and "_" not in stage_.label
