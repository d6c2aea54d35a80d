"""A candidate's place: typed codes and names, the number's state or country, all-party consent."""

from __future__ import annotations

import pytest

from core.agent.models import GlobalVoiceConfig
from core.people.places import (
    ALL_PARTY_CONSENT_DEFAULT,
    Place,
    PlaceError,
    needs_all_party_consent,
    normalize_place,
    place_from_number,
    place_of,
)


@pytest.mark.parametrize(("typed", "code"), [
    ("CA", "US-CA"), ("california", "US-CA"), (" us-ca ", "US-CA"), ("New  York", "US-NY"),
    ("gb", "GB"), ("DE", "US-DE"), ("", None), (None, None),
])
def test_typed_places_read_as_codes(typed: str | None, code: str | None) -> None:
    assert normalize_place(typed) == code


@pytest.mark.parametrize("typed", ["Narnia", "XX", "US-ZZ", "12"])
def test_unknown_places_are_refused(typed: str) -> None:
    with pytest.raises(PlaceError, match="not a US state"):
        normalize_place(typed)


@pytest.mark.parametrize(("number", "code"), [
    ("+12125550100", "US-NY"),  # "New York, NY"
    ("+13105550101", "US-CA"),  # "California"
    ("+16175550100", "US-MA"),
    ("+12025550124", "US-DC"),  # "Washington D.C.", not a country alone
    ("+442079460958", "GB"),
    ("not a number", None),
    (None, None),
])
def test_the_number_names_a_state_or_a_country(number: str | None, code: str | None) -> None:
    assert place_from_number(number) == code


def test_the_record_wins_over_the_number_and_the_source_is_said() -> None:
    assert place_of("US-TX", "+13105550101") == Place("US-TX", "candidate")
    from_number = place_of(None, "+13105550101")
    assert from_number == Place("US-CA", "number")
    assert from_number.label_with_source == "California, US (from the number)"
    assert place_of(None, None).label_with_source == "unknown"


def test_all_party_consent_by_state_country_or_unknown() -> None:
    places = list(ALL_PARTY_CONSENT_DEFAULT)
    assert needs_all_party_consent(Place("US-CA", "candidate"), places) is True
    assert needs_all_party_consent(Place("US-NY", "number"), places) is False
    assert needs_all_party_consent(Place(None, "unknown"), places) is None
    assert needs_all_party_consent(Place("US-TX", "candidate"), ["us"]) is True  # a whole country


def test_the_settings_keep_the_lists_clean() -> None:
    base = GlobalVoiceConfig.model_validate({
        "system_prompt": "p", "opening": {"mode": "agent_text", "text": "Hi"},
        "recording_disclosure": "This call is recorded.", "voicemail_message": "v",
        "time_exceeded_message": "t"})
    assert base.disclosure_phrases == ["AI", "recorded"]
    assert "US-CA" in base.all_party_consent_places
    cfg = base.model_copy(update={}).model_validate({
        **base.model_dump(), "all_party_consent_places": ["california", "DE", "US-CA", "gb"],
        "disclosure_phrases": [" AI ", "AI", "being  recorded"]})
    assert cfg.all_party_consent_places == ["US-CA", "US-DE", "GB"]
    assert cfg.disclosure_phrases == ["AI", "being recorded"]
    with pytest.raises(ValueError, match="not a US state"):
        GlobalVoiceConfig.model_validate({**base.model_dump(), "all_party_consent_places": ["Mars"]})
    with pytest.raises(ValueError, match="blank"):
        GlobalVoiceConfig.model_validate({**base.model_dump(), "disclosure_phrases": ["AI", " "]})
