"""Calling hours as a weekly picture, and settings as sentences (pure helpers)."""

from __future__ import annotations

from datetime import time

import pytest

from core.agent import describe, hours_view
from core.agent import effective as agent_effective
from core.agent import validation as agent_validation
from core.agent.defaults import default_global_config
from core.agent.models import CallingHours


def _hours(**days: list[tuple[str, str]]) -> dict:
    return {"windows": {d: [{"start": a, "end": b} for a, b in ws] for d, ws in days.items()}}


def test_minute_windows_fill_parts_of_their_first_and_last_hours() -> None:
    grid = hours_view.coverage_fractions(_hours(mon=[("09:30:00", "17:15:00")]))
    mon = grid[0]
    assert mon[9] == 0.5 and mon[17] == 0.25
    assert all(mon[h] == 1 for h in range(10, 17))
    assert mon[8] == 0 and mon[18] == 0
    assert all(v == 0 for row in grid[1:] for v in row)  # only Monday is open


def test_cells_know_which_part_of_the_hour_is_open() -> None:
    cells = hours_view.coverage(_hours(tue=[("09:30:00", "17:15:00")]))[1]
    assert cells[9].segments == ((0.5, 1.0),) and cells[17].segments == ((0.0, 0.25),)


def test_two_windows_in_one_hour_add_up() -> None:
    cells = hours_view.coverage(_hours(wed=[("08:00:00", "08:10:00"), ("08:40:00", "12:00:00")]))[2]
    assert cells[8].segments == ((0.0, 10 / 60), (40 / 60, 1.0))
    assert cells[8].fraction == pytest.approx(0.5)


def test_coverage_of_the_model_and_of_plain_values_agree() -> None:
    model = CallingHours()  # the shipped default: weekdays 09:00–18:00
    plain = agent_effective.as_plain(default_global_config())["calling_hours"]
    assert hours_view.coverage_fractions(model) == hours_view.coverage_fractions(plain)
    assert sum(map(sum, hours_view.coverage_fractions(model))) == 5 * 9


def test_hours_as_a_sentence_group_equal_days() -> None:
    assert hours_view.describe_hours(CallingHours()) == "Mon–Fri 09:00–18:00; no calls on Sat and Sun."
    text = hours_view.describe_hours(_hours(mon=[("09:30:00", "17:15:00")], sat=[("10:00:00", "12:00:00")]))
    assert text == "Mon 09:30–17:15; Sat 10:00–12:00; no calls on Tue–Fri and Sun."
    assert hours_view.describe_hours({"windows": {}}) == "No calls on any day."


def test_window_problems_in_words() -> None:
    assert hours_view.window_problem("mon", time(9), time(17)) is None
    backwards = hours_view.window_problem("fri", time(17), time(9))
    assert backwards and "Friday" in backwards and "before it starts" in backwards
    assert "empty" in (hours_view.window_problem("sun", time(9), time(9)) or "")


def test_opening_and_retry_policy_as_sentences_without_codes() -> None:
    opening = describe.describe_opening({"mode": "user_first", "text": "Hello?", "fallback_delay_seconds": 6,
                                         "uninterruptible": False})
    assert opening.startswith("The candidate speaks first") and "user_first" not in opening
    assert "fixed greeting" in describe.describe_opening({"mode": "agent_text", "text": "Hi"})
    retry = describe.describe_retry({"max_attempts": 3, "spacing_minutes": 240,
                                     "retry_after_voicemail": False})
    assert retry == ("Up to 3 attempts (the first call included), 4 hours apart; "
                     "no retry once a voicemail was left.")
    assert describe.describe_retry({"max_attempts": 1, "spacing_minutes": 60}) == "One attempt, no retries."


def test_question_changes_get_a_row_each() -> None:
    old = [{"id": "a", "text": "Why us?"}, {"id": "b", "text": "Start date?"}]
    new = [{"id": "a", "text": "Why this job?"}, {"id": "c", "text": "Shift?"}]
    lines = agent_effective.change_lines({"screening_questions": {"old": old, "new": new}})
    assert [(ln.setting, ln.before, ln.after) for ln in lines] == [
        ("Screening question 1", "Why us?", "Why this job?"),
        ("Screening question 2 (added)", "—", "Shift?"),
        ("Screening question 2 (removed)", "Start date?", "—"),
    ]
    guidance = agent_effective.change_lines({"screening_questions": {
        "old": [{"id": "a", "text": "Why us?"}],
        "new": [{"id": "a", "text": "Why us?", "guidance": "Be kind"}]}})
    assert [(ln.setting, ln.before, ln.after) for ln in guidance] == [
        ("Screening question 1 (guidance changed)", "guidance: none", "guidance: Be kind")]
    rule = agent_effective.change_lines({"screening_questions": {
        "old": [{"id": "a", "text": "Years?", "type": "number", "knockout": {"at_least": 2}}],
        "new": [{"id": "a", "text": "Years?", "type": "number", "knockout": {"at_least": 3}}]}})
    assert [(ln.before, ln.after) for ln in rule] == [
        ("knock-out rule: at least 2", "knock-out rule: at least 3")]


def test_structured_changes_read_as_sentences() -> None:
    base = agent_effective.as_plain(default_global_config())
    changed = {**base["calling_hours"], "windows": {"sat": [{"start": "10:00:00", "end": "14:00:00"}]}}
    (line,) = agent_effective.change_lines({"calling_hours": {"old": base["calling_hours"], "new": changed}})
    assert line.before == "Mon–Fri 09:00–18:00; no calls on Sat and Sun."
    assert line.after == "Sat 10:00–14:00; no calls on Mon–Fri and Sun."
    for text in (line.before, line.after):
        assert "{" not in text and "windows" not in text


def test_problems_are_placed_at_their_field() -> None:
    base = agent_effective.as_plain(default_global_config())
    bad = {**base, "system_prompt": "Hi {{nickname}}",
           "calling_hours": _hours(mon=[("17:00:00", "09:00:00")])}
    problems = agent_validation.problems_by_field(bad)
    assert set(problems) == {"system_prompt", "calling_hours"}
    assert "Monday" in problems["calling_hours"][0]
    assert agent_validation.problems_by_field(base) == {}
