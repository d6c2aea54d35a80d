"""The sandbox's scripted calls: outcomes by the dialled number, questions read from the prompt."""

from __future__ import annotations

import random

from sandbox.conversation import Outcome, _answer, build_script, outcome_for, questions_from_prompt

PROMPT = ("You screen candidates for the Forklift Operator role.\n"
          "1. Do you hold a current forklift certification?\n"
          "2. Are you available for weekend shifts?\n"
          "- How soon could you start?\n"
          "Be polite and brief.")


def test_outcome_table_and_scripts_are_deterministic() -> None:
    assert outcome_for("+12125550100") == Outcome.ANSWERED
    assert outcome_for("+12125550149") == Outcome.ANSWERED
    assert outcome_for("+14155550150") == Outcome.NO_ANSWER
    assert outcome_for("+14155550151") == Outcome.BUSY
    assert outcome_for("+14155550152") == Outcome.VOICEMAIL
    assert outcome_for("+14155550153") == Outcome.REJECTED
    assert outcome_for("+14155550154") == Outcome.DROPPED
    assert outcome_for("+14155550155") == Outcome.OPT_OUT
    assert outcome_for("+14155550199") == Outcome.ANSWERED
    assert outcome_for("+442079460958") == Outcome.ANSWERED
    assert questions_from_prompt(PROMPT) == [
        "Do you hold a current forklift certification?",
        "Are you available for weekend shifts?",
        "How soon could you start?",
    ]
    assert len(questions_from_prompt("Be nice.")) in (2, 3)
    a = build_script(PROMPT, "+12125550101", Outcome.ANSWERED)
    b = build_script(PROMPT, "+12125550101", Outcome.ANSWERED)
    assert [line.text for line in a.lines] == [line.text for line in b.lines]
    others = {tuple(line.text for line in build_script(PROMPT, f"+121255501{n:02d}",
                                                        Outcome.ANSWERED).lines)
              for n in range(10)}
    assert len(others) > 3  # answers vary between candidates
    assert a.lines[-2].role == "agent" and "Goodbye" in a.lines[-2].text


TYPED_PROMPT = (
    "# 3. The screening questions\n"
    "1. Are you authorised to work in the US?\n   (Yes/no question: record yes or no.)\n"
    "2. How many years of forklift experience do you have?\n"
    "   (Number question: record the number in years, as digits.)\n"
    "3. Which shift would you prefer?\n   (Choice question: record exactly one of: days, nights.)\n"
    "4. Why this role?\n   (Open question: record the candidate's answer in a sentence.)\n"
    "For the candidate it is now Wednesday 2 December 2026, 10:30 local time (time zone "
    "America/New_York, UTC-0500).\n"
)
TOOLS = frozenset({"recordAnswer", "candidateOptOut", "requestHuman", "requestCallback", "leaveVoicemail"})


def test_the_agent_reads_types_from_the_prompt_and_records_valid_values() -> None:
    from sandbox.conversation import typed_questions

    typed = typed_questions(TYPED_PROMPT)
    assert [(q.number, q.kind) for q in typed] == [(1, "yes_no"), (2, "number"), (3, "choice"), (4, "open")]
    assert typed[1].unit == "years" and typed[2].options == ["days", "nights"]
    script = build_script(TYPED_PROMPT, "+12125550103", Outcome.ANSWERED, TOOLS)
    calls = [line.args for line in script.lines if line.role == "tool"]
    assert [c["question"] for c in calls] == [1, 2, 3, 4]
    assert calls[0]["value"] in ("yes", "no") and calls[1]["value"].isdigit()
    assert calls[2]["value"] in ("days", "nights")
    # Without the tools selected, nothing is called (an older call body).
    assert not [line for line in build_script(TYPED_PROMPT, "+12125550103", Outcome.ANSWERED).lines
                if line.role == "tool"]


def test_scripted_outcomes_56_to_58_call_their_tools() -> None:
    assert outcome_for("+14155550156") == Outcome.CORRECTS
    assert outcome_for("+14155550157") == Outcome.ASKS_HUMAN
    assert outcome_for("+14155550158") == Outcome.CALLBACK
    corrects = [line.args for line in build_script(TYPED_PROMPT, "+1", Outcome.CORRECTS, TOOLS).lines
                if line.role == "tool"]
    assert corrects[0]["question"] == corrects[-1]["question"] == 1
    assert corrects[0]["value"] != corrects[-1]["value"]
    human = build_script(TYPED_PROMPT, "+1", Outcome.ASKS_HUMAN, TOOLS)
    assert [line.text for line in human.lines if line.role == "tool"] == ["requestHuman"]
    callback = build_script(TYPED_PROMPT, "+1", Outcome.CALLBACK, TOOLS)
    assert [line.args for line in callback.lines if line.role == "tool"] == [{"when": "2026-12-03T15:00"}]
    voicemail = build_script(TYPED_PROMPT, "+1", Outcome.VOICEMAIL, TOOLS, "Hi, call us back.")
    assert [(line.role, line.text) for line in voicemail.lines][1:] == [
        ("tool", "leaveVoicemail"), ("agent", "Hi, call us back.")]


def test_the_greeting_comes_from_the_create_call_request_only() -> None:
    from sandbox.conversation import greeting_line

    # A custom prompt with no place for the disclosure gets it appended as a quoted "say this".
    custom = ('You screen for Kite Air.\n\nBefore your first question, say this (you may adapt the '
              'wording only slightly): "This call is recorded for Kite Air\'s hiring team."')
    line = greeting_line(custom, {"agent": {"text": "Hi, Kite Air here, about your application."}})
    assert line.startswith("Hi, Kite Air here, about your application. This call is recorded for "
                           "Kite Air's hiring team.")
    # A generated greeting (agent prompt): the company as the prompt names it.
    generated = greeting_line("You are making a call on behalf of Bean Co to \"Al\", who applied for "
                              "the Barista position.", {"agent": {"prompt": "Greet them."}})
    assert "calling for Bean Co" in generated and "Alex" not in generated


def test_the_candidate_says_hello_first_only_when_the_agent_waits_for_them() -> None:
    agent_first = build_script(PROMPT, "+12125550101", Outcome.ANSWERED,
                               first_speaker={"agent": {"text": "Hi, Kite Air here."}})
    assert agent_first.lines[0].role == "agent" and agent_first.lines[0].text.startswith("Hi, Kite Air here.")
    assert build_script(PROMPT, "+12125550101", Outcome.ANSWERED).lines[0].role == "agent"  # Ultravox default
    user_first = build_script(PROMPT, "+12125550101", Outcome.ANSWERED,
                              first_speaker={"user": {"fallback": {"delaySeconds": 5, "text": "Hi?"}}})
    assert [(line.role, line.text) for line in user_first.lines[:1]] == [("user", "Hello?")]
    assert user_first.lines[1].role == "agent"


def test_open_questions_get_answers_that_fit_them() -> None:
    # The demo job's default questions: a why-question that names the role once drew
    # "Around 2 years …" from the experience answers.
    kinds = {
        "What interests you about the Demo: warehouse team lead role?": ("mission", "friend works there"),
        "Which of your skills or experience do you think fit this role best?": ("organised", "calm"),
        "Could you tell me briefly about your current or most recent role?": ("years",),
        "If things move forward, when would you be able to start?": ("start", "notice", "available"),
        "Do you have a salary range in mind for this role?": ("thousand", "market range"),
    }
    for question, words in kinds.items():
        for seed in range(8):
            said = _answer(question, random.Random(seed))
            assert any(w in said for w in words), (question, said)


_DISCLOSED = TYPED_PROMPT + ('\nThen, before anything else, say this: '
                              '"This call is recorded by an AI assistant."')


def test_59_refuses_consent_to_the_recording_and_the_questions_go_on() -> None:
    assert outcome_for("+14155550159") == Outcome.REFUSES_RECORDING
    tools = TOOLS | {"recordingConsent"}
    script = build_script(_DISCLOSED, "+14155550159", Outcome.REFUSES_RECORDING, tools)
    consent = [line.args for line in script.lines if line.role == "tool" and line.text == "recordingConsent"]
    assert consent == [{"granted": False}]
    assert "recorded by an AI assistant. Before we start, do you agree to this call being recorded?" in (
        script.lines[0].text)  # right after the disclosure
    assert sum(1 for line in script.lines if line.text == "recordAnswer") == 4
    # Any other number agrees; without the tool nobody is asked.
    agrees = build_script(_DISCLOSED, "+14155550103", Outcome.ANSWERED, tools)
    assert [line.args for line in agrees.lines if line.text == "recordingConsent"] == [{"granted": True}]
    unasked = build_script(_DISCLOSED, "+14155550159", Outcome.REFUSES_RECORDING, TOOLS)
    assert not any("being recorded" in line.text for line in unasked.lines)


def test_60s_agent_skips_the_disclosure() -> None:
    assert outcome_for("+14155550160") == Outcome.NO_DISCLOSURE
    script = build_script(_DISCLOSED, "+14155550160", Outcome.NO_DISCLOSURE, TOOLS | {"recordingConsent"})
    agent = [line.text for line in script.lines if line.role == "agent"]
    assert "recorded" not in " ".join(agent[:2])
    assert not any(line.text == "recordingConsent" for line in script.lines)
    said = build_script(_DISCLOSED, "+14155550161", Outcome.ANSWERED, TOOLS)
    assert "This call is recorded by an AI assistant." in said.lines[0].text
