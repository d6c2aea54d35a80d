"""Which transcript turns answer which screening question (pure)."""

from __future__ import annotations

from core.agent.questions import question_id
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


def _texts(questions: list[Question]) -> list[tuple[str, str, str]]:
    return [(q.text, q.guidance, q.type) for q in questions]


def test_screening_questions_prefer_the_spoken_wording():
    call = build_call(
        id="c1",
        config_snapshot={
            "config": {"screening_questions": [{"text": "Why {{company}}?", "guidance": "g"}, "Plain?"]},
            "spoken": {"screening_questions": ["Why Acme?", "Plain?"]},
        },
    )
    questions = screening_questions(call)
    assert _texts(questions) == [("Why Acme?", "g", "open"), ("Plain?", "", "open")]
    # Ids come from the configured wording, so a snapshot without ids reads the same every time.
    assert [q.id for q in questions] == [question_id("Why {{company}}?"), question_id("Plain?")]


def test_screening_questions_keep_the_configured_text_when_the_spoken_list_differs():
    call = build_call(
        id="c1",
        config_snapshot={
            "config": {"screening_questions": [{"text": "Why {{company}}?"}, {"text": None}]},
            "spoken": {"screening_questions": ["Why Acme?"]},
        },
    )
    assert _texts(screening_questions(call)) == [("Why {{company}}?", "", "open"), ("", "", "open")]
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


# -- real-looking calls: what the old matcher credited wrongly ----------------------------------

WAREHOUSE = [
    Question("Could you tell me briefly about your current or most recent role?"),
    Question("What interests you about the Warehouse Team Lead role?"),
    Question("How many years of forklift experience do you have?"),
    Question("If things move forward, when would you be able to start?"),
]
GREETING = ("Hi, this is Alex, an automated assistant calling about the Warehouse Team Lead position. "
            "Do you have a few minutes for some quick screening questions?")


def test_the_opt_out_call_credits_no_answer():
    # The sandbox's number 55, as the old matcher saw it: "Question 2 · asked at 0:01 — No.
    # Please stop calling me" although the agent had only greeted.
    messages = _turns(
        ("candidate", "Hello?"),
        ("agent", GREETING),
        ("candidate", "No. Please stop calling me, don't call me again."),
        ("agent", "I understand, and I'm sorry for the trouble. We won't call you again. Goodbye."),
    )
    assert [a.asked for a in question_answers(WAREHOUSE, messages)] == [False] * 4
    assert all(a.source is None and a.answer is None for a in question_answers(WAREHOUSE, messages))


def test_a_voicemail_greeting_and_message_are_never_answers():
    voicemail = ("Hello Ann, this is an AI assistant calling for Acme about your application for the "
                 "Warehouse Team Lead role. We'll try you again soon.")
    messages = _turns(
        ("candidate", "Hi, you've reached Ann. I can't take your call, please leave a message "
                      "after the tone."),
        ("agent", voicemail),
    )
    assert not any(a.asked for a in question_answers(WAREHOUSE, messages))
    # Also when a person picks up and the agent still says its voicemail text: not a question.
    person = _turns(("candidate", "Hello?"), ("agent", voicemail), ("candidate", "Oh, okay, thanks."))
    assert not any(a.asked for a in question_answers(WAREHOUSE, person, voicemail_text=voicemail))
    assert not any(a.asked for a in question_answers(WAREHOUSE, _turns(
        ("candidate", "Hello?"), ("agent", "What interests you about the Warehouse Team Lead role?"),
        ("candidate", "Growth.")), voicemail=True))


def test_the_agents_introduction_is_not_a_question_but_a_question_after_it_is():
    messages = _turns(
        ("candidate", "Hello?"),
        ("agent", "Hi Ann, I'm calling for Acme about the Warehouse Team Lead role. This call is recorded. "
                  "To start, could you tell me briefly about your most recent role?"),
        ("candidate", "I run the night shift at a distribution centre."),
    )
    first, second, *_ = question_answers(WAREHOUSE, messages)
    assert first.asked and first.answer == "I run the night shift at a distribution centre."
    assert first.source == "transcript" and first.at_seconds == 8.0 and first.asked_at_s == 4.0
    assert second.asked is False  # "Warehouse Team Lead role" was only in the introduction


def test_rephrased_and_out_of_order_questions_are_found():
    messages = _turns(
        ("candidate", "Hello?"),
        ("agent", GREETING),
        ("candidate", "Sure, go ahead."),
        ("agent", "Great. So if things moved forward, when could you be able to start?"),
        ("candidate", "In two weeks."),
        ("agent", "Thanks. And how many years have you been driving forklifts, roughly? Any experience?"),
        ("candidate", "About five years."),
        ("agent", "What is it that interests you in the team lead role at the warehouse?"),
        ("candidate", "Leading people."),
        ("agent", "Thank you, that's all my questions. Goodbye!"),
    )
    answers = question_answers(WAREHOUSE, messages)
    assert [a.answer for a in answers] == [None, "Leading people.", "About five years.", "In two weeks."]
    assert [a.asked_at_s for a in answers] == [None, 28.0, 20.0, 12.0]
    assert answers[0].source is None and {a.source for a in answers[1:]} == {"transcript"}


def test_call_answers_type_the_transcript_answers_and_check_the_knockouts():
    from core.review.answers import call_answers, contract_entry

    typed = [
        {"text": "Are you authorised to work in the US?", "type": "yes_no", "knockout": {"must_be": True}},
        {"text": "How many years of forklift experience do you have?", "type": "number",
         "knockout": {"at_least": 2}},
        {"text": "Which shift would you prefer, days or nights?", "type": "choice",
         "options": ["days", "nights"]},
    ]
    call = build_call(id="c1", status="completed", config_snapshot={"config": {"screening_questions": typed}})
    messages = _turns(
        ("candidate", "Hello?"), ("agent", GREETING), ("candidate", "Sure."),
        ("agent", "Are you authorised to work in the US?"), ("candidate", "Yes, I am."),
        ("agent", "How many years of forklift experience do you have?"), ("candidate", "Just one year."),
    )
    answers = call_answers(call, messages)
    assert [(a.value, a.knockout_passed, a.source) for a in answers] == [
        (True, True, "transcript"), (1.0, False, "transcript"), (None, None, None)]
    assert answers[0].source_label == "matched from the transcript — check"
    assert contract_entry(answers[1]) == {
        "question": 2, "id": answers[1].question_id, "text": typed[1]["text"], "type": "number",
        "asked": True, "answer": "Just one year.", "value": 1, "source": "transcript",
        "at_seconds": 24.0, "knockout_passed": False, "history": []}
    assert contract_entry(answers[2])["answer"] is None
    voicemail = build_call(id="c2", status="voicemail", config_snapshot=call.config_snapshot)
    assert not any(a.asked for a in call_answers(voicemail, messages))


def test_a_question_sharing_words_with_the_voicemail_text_is_still_a_question():
    voicemail = ("Hello Ann, this is an AI assistant calling for Acme about your application for the "
                 "Demo: warehouse team lead role. We'll try you again soon.")
    asked = "What interests you about the Demo: warehouse team lead role?"
    messages = _turns(("candidate", "Hello?"), ("agent", asked), ("candidate", "The team."))
    question = [Question("What interests you about the Demo: warehouse team lead role?")]
    assert question_answers(question, messages, voicemail_text=voicemail)[0].answer == "The team."
