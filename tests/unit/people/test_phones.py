"""Phone validation to E.164 with readable refusals, and the time zones of a number (pure)."""

from __future__ import annotations

import pytest

from core.people.phones import PhoneNumberError, normalize_phone, timezones_for


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 212 555 0100", None, "+12125550100"),
        ("(415) 555-0142", "US", "+14155550142"),
        ("  415.555.0142 ", "US", "+14155550142"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+33 1 42 68 53 00", "US", "+33142685300"),
    ],
)
def test_normalize_phone_returns_e164(raw: str, region: str | None, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "fragment"),
    [
        ("", "US", "Enter a phone number"),
        ("   ", "US", "Enter a phone number"),
        (None, "US", "Enter a phone number"),
        ("call me maybe", "US", "only contain digits"),
        ("+1 212 CALL NOW", "US", "only contain digits"),
        ("123", "US", "too short"),
        ("+44 1", None, "too short"),
        ("020 7946 0958", "US", "not a valid US phone number"),  # a UK number without +44
        ("+999 1234567", None, "country code"),
        ("+1 212 555 01000", None, "too long"),
        ("+1 900 555 0100", None, "Premium-rate"),
    ],
)
def test_normalize_phone_rejects_with_a_readable_message(
    raw: str | None, region: str, fragment: str
) -> None:
    with pytest.raises(PhoneNumberError) as info:
        normalize_phone(raw, region)
    assert fragment.lower() in str(info.value).lower()
    assert isinstance(info.value, ValueError)  # forms can catch plain ValueError


def test_default_region_comes_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.config import get_settings

    monkeypatch.setenv("DEFAULT_PHONE_REGION", "GB")
    get_settings.cache_clear()
    try:
        assert normalize_phone("020 7946 0958") == "+442079460958"
    finally:
        get_settings.cache_clear()


def test_timezones_for_known_and_unknown_numbers() -> None:
    assert timezones_for("+12125550100") == ["America/New_York"]
    assert timezones_for("+442079460958") == ["Europe/London"]
    # A number whose zone phonenumbers cannot tell gives "Etc/Unknown": mapped to [].
    assert timezones_for("+80012345678") == []
    assert timezones_for("not a number") == []
