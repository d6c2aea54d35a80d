"""The review scorecard's pure parts: the excerpt around an answer, where ▶ starts, the rows."""

from __future__ import annotations

from datetime import UTC, datetime

from core.review.models import Message, QuestionAnswer, ReviewView
from core.review.scorecard import (
    ExcerptLine,
    excerpt,
    knockout_words,
    play_from,
    scorecard_rows,
    type_label,
    value_text,
)

TALK = [
    Message("agent", "Hi, do you have a few minutes?", 0.0, 3.0),
    Message("candidate", "Sure.", 4.0, 5.0),
    Message("agent", "How many years of forklift experience do you have?", 6.0, 9.0),
    Message("candidate", "About five years.", 10.0, 12.0),
    Message("tool", '{"question": 1, "answer_text": "About five years."}', 12.5, None, tool="recordAnswer"),
    Message("candidate", "Mostly in a cold store.", 13.0, 15.0),
    Message("candidate", "And some yard work.", 15.5, 17.0),
    Message("agent", "Thanks. When could you start?", 18.0, 20.0),
    Message("candidate", "In   two\nweeks.", 21.0, 23.0),
    Message("agent", "Goodbye!", 24.0, 25.0),
]


def test_excerpt_is_the_question_and_the_candidate_turns_at_the_answer():
    lines = excerpt(TALK, 10.0)
    assert lines == (
        ExcerptLine("Agent", 6.0, "How many years of forklift experience do you have?"),
        ExcerptLine("Candidate", 10.0, "About five years."),
        ExcerptLine("Candidate", 13.0, "Mostly in a cold store."),  # the tool message is skipped
    )


def test_excerpt_finds_the_turn_holding_the_moment_and_stops_at_the_agent():
    # 22 s is inside the candidate's "two weeks" turn; the agent's goodbye is not part of it.
    assert excerpt(TALK, 22.0) == (
        ExcerptLine("Agent", 18.0, "Thanks. When could you start?"),
        ExcerptLine("Candidate", 21.0, "In two weeks."),  # whitespace folded for one plain line
    )
    # A moment between turns takes the candidate's last turn started before it.
    assert excerpt(TALK, 17.5)[1] == ExcerptLine("Candidate", 15.5, "And some yard work.")


def test_excerpt_without_a_moment_or_a_candidate_turn_is_empty():
    assert excerpt(TALK, None) == ()
    assert excerpt([Message("agent", "Hello?", 0.0, 1.0)], 3.0) == ()
    # An answer recorded before any timed candidate turn points at the first one.
    assert excerpt(TALK, 0.5)[-1] == ExcerptLine("Candidate", 4.0, "Sure.")


def test_play_starts_at_the_candidate_turn_else_at_the_answer_time():
    assert play_from(excerpt(TALK, 11.0), 11.0) == 10.0
    assert play_from((), 42.4) == 42.4
    assert play_from((), None) is None
    assert play_from((), -1.0) == 0.0


def test_words_for_values_types_and_knockouts():
    assert [value_text(v) for v in (True, False, 5.0, 2.5, "nights", None)] == ["yes", "no", "5", "2.5",
                                                                                 "nights", ""]
    assert type_label("yes_no") == "Yes or no" and type_label("nonsense") == "Open answer"
    answered = QuestionAnswer(1, "Weekends?", "", asked=True, knockout_passed=False)
    assert knockout_words(answered, has_rule=True) == "not passed"
    assert knockout_words(QuestionAnswer(1, "Weekends?", "", knockout_passed=True), True) == "passed"
    assert knockout_words(QuestionAnswer(1, "Weekends?", ""), has_rule=True) == "no answer to check"
    assert knockout_words(QuestionAnswer(1, "Why us?", ""), has_rule=False) == "no knockout"


def test_rows_carry_question_answer_excerpt_knockout_guidance_and_saved_rating():
    questions = [
        QuestionAnswer(1, "How many years of forklift experience do you have?", "", asked=True,
                       answer="About five years.", question_id="years", type="number", value=5.0,
                       source="agent", at_seconds=10.0, knockout_passed=True, earlier=("three",),
                       reviewer_guidance="3+ years is good"),
        QuestionAnswer(2, "When could you start?", "", asked=True, answer="In two weeks.",
                       question_id="start", source="transcript", at_seconds=21.0),
        QuestionAnswer(3, "Are you able to work weekend shifts?", "", question_id="weekends",
                       type="yes_no"),
    ]
    review = ReviewView("hold", {"start": 4}, 3, None, "maria", datetime(2026, 3, 2, tzinfo=UTC))
    rows = scorecard_rows(questions, TALK, review, {"years": True, "start": False, "weekends": True})
    first, second, third = rows
    assert (first.number, first.type_label, first.value, first.source_label, first.earlier) == (
        1, "A number", "5", "recorded by the agent", ("three",))
    assert (first.knockout, first.reviewer_guidance, first.play_from) == ("passed", "3+ years is good", 10.0)
    assert first.excerpt[0].text.startswith("How many years") and first.rating is None
    assert (second.source_label, second.knockout, second.rating, second.rating_key) == (
        "matched from the transcript — check", "no knockout", 4, "start")
    assert second.play_from == 21.0
    # Not asked: no excerpt, nothing to play; its knockout could not be checked.
    assert (third.asked, third.excerpt, third.play_from, third.knockout) == (False, (), None,
                                                                             "no answer to check")
    assert scorecard_rows(questions[:1], [], None)[0].excerpt == ()
