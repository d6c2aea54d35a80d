"""The sandbox's scripted calls: outcomes by the dialled number, questions read from the prompt."""

from __future__ import annotations

from sandbox.conversation import Outcome, build_script, outcome_for, questions_from_prompt

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
