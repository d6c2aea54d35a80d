"""Which transcript turns answer which screening question (pure)."""

from __future__ import annotations

from core.review.answer_matching import question_answers, screening_questions
from core.review.models import Message, Question, StoredTranscript
from core.review.timeline import transcript_messages
from tests.factories import call as build_call
from tests.support.review_seed import conversation, screened_call


def _turns(*lines: tuple[str, str]) -> list[Message]:
    return [Message(speaker=who, text=text, start_s=float(4 * n)) for n, (who, text) in enumerate(lines)]


QUESTIONS = [
    Question("How many years of forklift experience do you have?", "3+ years"),
    Question("When could you start the new position?"),
    Question("Are you able to work weekend shifts?"),
]


def test_rephrased_questions_find_the_candidates_replies():
    messages = _turns(
        ("agent", "Hi, do you have a few minutes?"),
        ("candidate", "Sure."),
        ("agent", "First, how many years of forklift experience do you have?"),
        ("candidate", "About five years"),
        ("candidate", "in a warehouse."),
        ("tool", "lookup"),
        ("agent", "Thanks. When could you start the new position?"),
        ("candidate", "In two weeks."),
        ("agent", "Thank you, goodbye!"),
    )
    first, second, third = question_answers(QUESTIONS, messages)
    assert (first.number, first.asked, first.answer) == (1, True, "About five years in a warehouse.")
    assert first.guidance == "3+ years" and first.asked_at_s == 8.0
    assert first.asked_as == "First, how many years of forklift experience do you have?"
    assert (second.asked, second.answer, second.asked_at_s) == (True, "In two weeks.", 24.0)
    assert (third.asked, third.answer, third.asked_at_s, third.asked_as) == (False, None, None, None)


def test_asked_without_a_reply_is_an_empty_answer():
    messages = _turns(
        ("agent", "Are you able to work weekend shifts?"), ("candidate", "  "), ("agent", "OK.")
    )
    answer = question_answers([QUESTIONS[2]], messages)[0]
    assert answer.asked is True and answer.answer == ""


def test_a_turn_answers_one_question_only_and_half_the_words_are_needed():
    same = [
        Question("Are you able to work weekend shifts?"),
        Question("Are you able to work weekend shifts?"),
    ]
    messages = _turns(("agent", "Are you able to work weekend shifts?"), ("candidate", "Yes."))
    assert [a.asked for a in question_answers(same, messages)] == [True, False]
    weak = _turns(("agent", "Do you like weekends?"), ("candidate", "Yes."))
    assert question_answers([QUESTIONS[2]], weak)[0].asked is False


def test_best_matching_turn_wins_and_the_earliest_on_a_tie():
    messages = _turns(
        ("agent", "Could you work shifts?"),
        ("candidate", "Maybe."),
        ("agent", "Are you able to work weekend shifts?"),
        ("candidate", "Yes."),
        ("agent", "Again: are you able to work weekend shifts?"),
        ("candidate", "Yes, really."),
    )
    answer = question_answers([QUESTIONS[2]], messages)[0]
    assert answer.answer == "Yes." and answer.asked_at_s == 8.0


def test_long_answers_are_cut_with_an_ellipsis():
    messages = _turns(("agent", "When could you start the new position?"), ("candidate", "word " * 400))
    answer = question_answers([QUESTIONS[1]], messages)[0].answer
    assert answer is not None and len(answer) == 600 and answer.endswith("…")


def test_a_question_without_content_words_is_never_asked():
    messages = _turns(("agent", "What are you?"), ("candidate", "Me."))
    assert question_answers([Question("What are you?")], messages)[0].asked is False


def test_screening_questions_prefer_the_spoken_wording():
    call = build_call(
        id="c1",
        config_snapshot={
            "config": {"screening_questions": [{"text": "Why {{company}}?", "guidance": "g"}, "Plain?"]},
            "spoken": {"screening_questions": ["Why Acme?", "Plain?"]},
        },
    )
    assert screening_questions(call) == [Question("Why Acme?", "g"), Question("Plain?", "")]


def test_screening_questions_keep_the_configured_text_when_the_spoken_list_differs():
    call = build_call(
        id="c1",
        config_snapshot={
            "config": {"screening_questions": [{"text": "Why {{company}}?"}, {"text": None}]},
            "spoken": {"screening_questions": ["Why Acme?"]},
        },
    )
    assert screening_questions(call) == [Question("Why {{company}}?"), Question("")]
    assert screening_questions(build_call(id="c2")) == []


def _seeded_answers(messages: list[dict]) -> list:
    """The answers found in a stored transcript of the seeded screening (its three questions)."""
    call = screened_call("cand1", "job1")
    stored = StoredTranscript.model_validate({"_id": call.id, "messages": messages})
    return question_answers(screening_questions(call), transcript_messages(stored))


def test_the_seeded_conversation_answers_every_question():
    answers = _seeded_answers(conversation())
    assert [a.answer for a in answers] == [
        "About five years in a warehouse.",
        "In two weeks.",
        "Yes, weekends are fine.",
    ]
    assert answers[1].asked_at_s == 16.0


def test_a_question_the_agent_never_asked_has_no_answer():
    answers = _seeded_answers(conversation(["Ten years.", "Monday."])[:-1])
    assert [a.asked for a in answers] == [True, True, False]
    assert answers[2].answer is None
