"""Typed screening questions: ids, types, value parsing and knockout rules (pure)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.agent import defaults, prompts, validation
from core.agent.effective import as_plain
from core.agent.models import GlobalVoiceConfig, JobVoiceConfig
from core.agent.questions import (
    QuestionType,
    ScreeningQuestion,
    ValueProblem,
    editor_rows,
    from_editor_row,
    guess_value,
    knockout_from_text,
    knockout_passed,
    knockout_text,
    parse_value,
    question_id,
)

YES_NO = ScreeningQuestion(text="Are you authorised to work in the US?", type="yes_no",
                           knockout={"must_be": True}, reviewer_guidance="Must be yes.")
YEARS = ScreeningQuestion(text="How many years of forklift experience do you have?", type="number",
                          unit="years", min_value=0, max_value=60, knockout={"at_least": 2})
SHIFT = ScreeningQuestion(text="Which shift would you prefer?", type="choice",
                          options=["days", "nights", "weekends"], knockout={"one_of": ["days", "nights"]})
OPEN = ScreeningQuestion(text="Why this role?", guidance="A concrete reason.")


def test_plain_stored_questions_become_open_with_a_stable_id() -> None:
    q = ScreeningQuestion.model_validate("Why this role?")
    assert q.type == QuestionType.OPEN and q.id == question_id("Why this role?") == OPEN.id
    # The id is kept once stored, whatever the wording becomes.
    again = ScreeningQuestion.model_validate({**q.model_dump(), "text": "Why this job?"})
    assert again.id == q.id
    cfg = GlobalVoiceConfig.model_validate({**as_plain(defaults.default_global_config()),
                                            "screening_questions": ["Same?", "Same?", "Other?"]})
    ids = [q.id for q in cfg.screening_questions]
    assert len(set(ids)) == 3 and ids[1] == ids[0] + "-2"
    job = JobVoiceConfig.model_validate({"screening_questions": ["Same?", {"text": "Same?"}]})
    assert [q.id for q in job.screening_questions] == [ids[0], ids[0] + "-2"]
    assert as_plain(cfg)["screening_questions"][0]["id"] == ids[0]  # stored on save


@pytest.mark.parametrize(("data", "message"), [
    ({"text": "Shift?", "type": "choice", "options": ["days"]}, "at least two choices"),
    ({"text": "Years?", "type": "number", "min_value": 5, "max_value": 1}, "above the largest"),
    ({"text": "Why?", "knockout": {"must_be": True}}, "open question cannot"),
    ({"text": "OK?", "type": "yes_no", "knockout": {"at_least": 1}}, "yes or no"),
    ({"text": "Years?", "type": "number", "knockout": {"one_of": ["x"]}}, "at least"),
    ({"text": "Shift?", "type": "choice", "options": "a, b", "knockout": "c"}, "not offered"),
    ({"text": "Years?", "type": "number", "knockout": "lots"}, "at least 2"),
    ({"text": "x", "id": "bad id!"}, "letters, digits"),
])
def test_inconsistent_questions_are_refused_in_plain_words(data, message) -> None:
    base = as_plain(defaults.default_global_config())
    with pytest.raises(validation.ConfigValidationError) as exc:
        validation.validate_global({**base, "screening_questions": [data]})
    assert any(m.startswith("Screening question 1") and message in m for m in exc.value.messages)


def test_parse_value_is_strict_and_says_what_is_expected() -> None:
    assert parse_value(YES_NO, "Yes") is True and parse_value(YES_NO, " no. ") is False
    assert parse_value(YEARS, "3") == 3.0 and parse_value(YEARS, "2.5") == 2.5
    assert parse_value(SHIFT, "Nights") == "nights" and parse_value(OPEN, " fine ") == "fine"
    for q, raw, says in [(YES_NO, "maybe", "yes or no"), (YEARS, "three", "a number (years)"),
                         (YEARS, "61", "between 0 and 60"), (YEARS, "nan", "a number"),
                         (SHIFT, "evenings", "one of: days, nights, weekends"), (YES_NO, "", "yes or no")]:
        with pytest.raises(ValueProblem, match=re.escape(says)):
            parse_value(q, raw)


def test_guess_value_reads_the_candidates_words() -> None:
    assert guess_value(YES_NO, "Yes, I'm authorised, no sponsorship needed.") is True
    assert guess_value(YES_NO, "No, I would need a visa.") is False
    assert guess_value(YES_NO, "Hmm, let me think.") is None
    assert guess_value(YEARS, "About five years, mostly nights.") == 5.0
    assert guess_value(YEARS, "Around 12 years.") == 12.0
    assert guess_value(YEARS, "I've done it for 99 years") is None  # beyond the bounds
    assert guess_value(SHIFT, "I'd prefer nights.") == "nights"
    assert guess_value(SHIFT, "Days or nights, either.") is None  # two choices: unclear
    assert guess_value(OPEN, "anything") is None and guess_value(YES_NO, None) is None


def test_knockout_rules() -> None:
    assert knockout_passed(YES_NO, True) is True and knockout_passed(YES_NO, False) is False
    assert knockout_passed(YEARS, 2.0) is True and knockout_passed(YEARS, 1.5) is False
    assert knockout_passed(SHIFT, "Days") is True and knockout_passed(SHIFT, "weekends") is False
    assert knockout_passed(YES_NO, None) is None and knockout_passed(OPEN, "x") is None
    assert knockout_passed(YEARS, True) is None  # a bool is not a number
    no_rule = YEARS.model_copy(update={"knockout": None})
    assert knockout_passed(no_rule, 1.0) is None


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
       st.one_of(st.none(), st.floats(-1e3, 1e3)), st.one_of(st.none(), st.floats(-1e3, 1e3)))
def test_number_knockout_is_the_bounds_it_states(value, low, high) -> None:
    if low is None and high is None:
        low = 0.0
    if low is not None and high is not None and low > high:
        low, high = high, low
    q = ScreeningQuestion(text="Years?", type="number", knockout={"at_least": low, "at_most": high})
    expected = (low is None or value >= low) and (high is None or value <= high)
    assert knockout_passed(q, value) is expected
    # The plain-words form round-trips to the same rule.
    again = ScreeningQuestion(text="Years?", type="number", knockout=knockout_text(q))
    assert again.knockout == q.knockout


@given(st.booleans(), st.booleans())
def test_yes_no_knockout_passes_exactly_the_required_answer(required, answer) -> None:
    q = ScreeningQuestion(text="OK?", type="yes_no", knockout={"must_be": required})
    assert knockout_passed(q, answer) is (answer == required)
    assert knockout_from_text(QuestionType.YES_NO, knockout_text(q)) == {"must_be": required}


@given(st.floats(allow_nan=False, allow_infinity=False), st.floats(-100, 100), st.floats(-100, 100))
def test_a_parsed_number_is_always_within_the_bounds(value, a, b) -> None:
    low, high = min(a, b), max(a, b)
    q = ScreeningQuestion(text="N?", type="number", min_value=low, max_value=high)
    try:
        parsed = parse_value(q, repr(value))
    except ValueProblem:
        assert not low <= value <= high
    else:
        assert low <= parsed <= high and math.isclose(parsed, value)


def test_the_settings_table_round_trips_a_question() -> None:
    rows = editor_rows([as_plain_q(YEARS), as_plain_q(SHIFT), "Plain?"])
    assert rows[0]["type"] == "A number" and rows[0]["knockout"] == "at least 2"
    assert rows[1]["options"] == "days, nights, weekends" and rows[1]["knockout"] == "days, nights"
    assert rows[2]["type"] == "Open answer" and rows[2]["knockout"] == ""
    back = [ScreeningQuestion.model_validate(from_editor_row(r)) for r in rows]
    assert back[:2] == [YEARS, SHIFT] and back[2].text == "Plain?"
    new = from_editor_row({"id": float("nan"), "text": "New?", "type": "Yes or no",
                           "min_value": float("nan"), "knockout": "no"})
    assert ScreeningQuestion.model_validate(new).knockout.must_be is False


def as_plain_q(q: ScreeningQuestion) -> dict:
    return q.model_dump(mode="json")


def test_the_prompt_has_types_and_local_time_but_never_knockouts_or_reviewer_guidance() -> None:
    cfg = defaults.default_global_config().model_copy(
        update={"screening_questions": [YES_NO, YEARS, SHIFT, OPEN]})
    now = datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
    text = prompts.render_prompt(cfg, candidate_name="Ann Lee", job_title="Driver", company_name="Acme",
                                 candidate_zone="America/New_York", now=now)
    assert "1. Are you authorised to work in the US?\n   (Yes/no question: record yes or no.)" in text
    assert "(Number question: record the number in years, as digits.)" in text
    assert "(Choice question: record exactly one of: days, nights, weekends.)" in text
    assert "Wednesday 2 December 2026, 10:30 local time (time zone America/New_York" in text
    assert "Must be yes" not in text and "at least 2" not in text and "60" not in text
    unknown = prompts.render_prompt(cfg, candidate_name="A", job_title="D", candidate_zone="Nowhere/X",
                                    now=now)
    assert "time zone is not known" in unknown
