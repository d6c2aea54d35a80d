"""Candidate fields: the rules the forms and the CSV import share, and the zone in words (pure)."""

from __future__ import annotations

import pytest

from core.people import candidates
from core.people.candidates import CandidateError, describe_zone


def test_the_zone_of_the_record_wins_over_the_number() -> None:
    assert describe_zone("Europe/London", "+442079460958") == "Europe/London"
    assert describe_zone("America/Denver", "+14155550100") == "America/Denver"


def test_a_number_with_one_zone_says_where_it_came_from() -> None:
    assert describe_zone("", "+12125550100") == "America/New_York (from the number)"


def test_a_number_spanning_several_zones_lists_them() -> None:
    text = describe_zone("", "+12085550100")
    assert text.startswith("several zones from the number:") and "America/Boise" in text
    assert text.endswith("(all must be inside calling hours)")


def test_no_knowable_zone_holds_the_calls() -> None:
    assert describe_zone("", "+870773111632") == "unknown: calls are held until a person sets the time zone"


@pytest.mark.parametrize(
    ("clean", "value", "message"),
    [
        (candidates._clean_name, "   ", "The name is empty."),
        (candidates._clean_name, "x" * 201, "longer than 200 characters"),
        (candidates._clean_phone, "", "Enter a phone number."),
        (candidates._clean_phone, "12345", "too short"),
        (candidates._clean_phone, "call me maybe", "may only contain digits"),
        (candidates._clean_phone, "+1 900 555 0100", "Premium-rate"),
        (candidates._clean_email, "not-an-email", "The email address is not valid."),
        (candidates._clean_timezone, "Mars/Base", "'Mars/Base' is not a known time zone"),
        (candidates._clean_consent, "perhaps", "Consent must be yes or no, not 'perhaps'."),
        (candidates._clean_notes, "n" * 2001, "longer than 2000 characters"),
    ],
)
def test_each_bad_field_says_what_is_wrong(clean, value, message) -> None:
    with pytest.raises(CandidateError) as info:
        clean(value)
    assert message in str(info.value)


def test_good_fields_are_cleaned() -> None:
    assert candidates._clean_name("  Ann   Able ") == "Ann Able"
    assert candidates._clean_phone("(212) 555-0100") == "+12125550100"
    assert candidates._clean_email(" ann@example.com ") == "ann@example.com"
    assert candidates._clean_timezone("") == ""
    assert candidates._clean_timezone("Europe/London") == "Europe/London"
    consents = [candidates._clean_consent(v) for v in ("yes", "1", "no", "", True)]
    assert consents == [True, True, False, False, True]
