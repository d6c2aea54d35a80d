"""Standing reasons not to call a candidate, and the calling-hours verdict for one (pure)."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime

import pytest

from core.agent import defaults as agent_defaults
from core.agent.models import CallingHours, TimeWindow, Weekday
from core.calling import refusals
from core.calling.launch import resolve_job
from tests.factories import candidate, job

CONFIG = agent_defaults.default_global_config()
NOW = datetime(2025, 6, 10, 15, tzinfo=UTC)  # a Tuesday, 11:00 in New York


def test_a_consenting_candidate_for_an_open_job_may_be_called() -> None:
    assert refusals.refusal(candidate(consent=True), job(), CONFIG) is None
    assert refusals.refusal(candidate(consent=True), None, CONFIG) is None


@pytest.mark.parametrize(
    ("who", "status", "code", "words"),
    [
        (dict(do_not_call=True), "open", "do_not_call", "do-not-call"),
        (dict(consent=False), "open", "no_consent", "consent"),
        (dict(), "archived", "job_archived", "archived"),
        (dict(), "closed", "job_closed", "job is closed"),
        # The do-not-call list comes first, whatever else is wrong.
        (dict(do_not_call=True, consent=False), "archived", "do_not_call", "do-not-call"),
    ],
)
def test_each_standing_refusal_has_its_code_and_says_why(who, status, code, words) -> None:
    refused = refusals.refusal(candidate(**who), job(status=status), CONFIG)
    assert isinstance(refused, refusals.LaunchRefused)
    assert refused.code == code and words in str(refused)


def test_consent_is_only_needed_when_the_settings_ask_for_it() -> None:
    relaxed = CONFIG.model_copy(update={"require_consent": False})
    assert refusals.refusal(candidate(consent=False), job(), relaxed) is None


def test_a_number_without_a_knowable_zone_is_held_for_a_person() -> None:
    # An Inmarsat number: valid, but no time zone can be known from it.
    window = refusals.window_check(candidate(phone="+870773111632"), CONFIG, NOW)
    assert not window.allowed and window.held and "Held for a person" in window.reason


def test_outside_the_calling_hours_the_verdict_says_when_the_window_opens() -> None:
    never = CONFIG.model_copy(update={"calling_hours": CallingHours(
        windows={Weekday.MON: [TimeWindow(start=dt.time(3, 0), end=dt.time(3, 1))]})})
    window = refusals.window_check(candidate(phone="+12125550105"), never, NOW)
    assert not window.allowed and not window.held
    assert "Outside calling hours" in window.reason and window.next_open_at is not None
    assert window.zones == ["America/New_York"]
    inside = refusals.window_check(candidate(phone="+12125550105"), CONFIG, NOW)
    assert inside.allowed and inside.zone_source == "number"


@pytest.mark.parametrize(("job_ids", "words"),
                         [([], "applies to no job;"), (["j1", "j2"], "applies to 2 jobs;")])
def test_a_candidate_without_one_job_is_asked_which_in_plain_words(job_ids: list[str], words: str) -> None:
    # Refused before anything is read, so no database is needed.
    with pytest.raises(refusals.LaunchRefused) as info:
        resolve_job(None, candidate(job_ids=job_ids), None)  # type: ignore[arg-type]
    assert info.value.code == "job_required" and words in str(info.value)
