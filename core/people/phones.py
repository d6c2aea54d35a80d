"""Phone numbers: validated and normalised to E.164, their region and time zones (and a
candidate's time zone: the one on the record, else the number's)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType
from phonenumbers import timezone as pn_timezone

from core.config import get_settings
from core.errors import UserError
from core.timezones import valid_zone


class PhoneNumberError(UserError, ValueError):
    """A phone number that cannot be dialled; the message is meant for a recruiter."""


def normalize_phone(raw: str | None, region: str | None = None) -> str:
    """Validate a phone number and return it in E.164 ("+15551234567").

    Numbers without a leading + are read as numbers of `region` (default from settings).
    """
    text = (raw or "").strip()
    if not text:
        raise PhoneNumberError("Enter a phone number.")
    if any(ch.isalpha() for ch in text):
        raise PhoneNumberError(
            "A phone number may only contain digits, spaces, brackets, dashes and a leading +."
        )
    region = (region or get_settings().default_phone_region).upper()
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except NumberParseException as exc:
        raise PhoneNumberError(_parse_error_message(exc, text)) from exc
    digits = phonenumbers.national_significant_number(number)
    possible = phonenumbers.is_possible_number_with_reason(number)
    if len(digits) < 7 or possible == phonenumbers.ValidationResult.TOO_SHORT:
        raise PhoneNumberError(f"The phone number is too short ({len(digits)} digits).")
    if possible == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        raise PhoneNumberError("The country code of this phone number does not exist.")
    if not phonenumbers.is_valid_number(number):
        if not text.startswith("+"):
            raise PhoneNumberError(
                f"This is not a valid {region} phone number. For another country, "
                "start with + and the country code (for example +44 20 7946 0958)."
            )
        if possible == phonenumbers.ValidationResult.TOO_LONG:
            raise PhoneNumberError(f"The phone number is too long ({len(digits)} digits).")
        country = phonenumbers.region_code_for_country_code(number.country_code)
        country = country if country != "ZZ" else "its country"
        raise PhoneNumberError(f"This is not a valid phone number for {country}.")
    if phonenumbers.number_type(number) in (PhoneNumberType.PREMIUM_RATE,
                                            PhoneNumberType.SHARED_COST):
        raise PhoneNumberError("Premium-rate and shared-cost numbers cannot be called.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_error_message(exc: NumberParseException, text: str) -> str:
    kind = exc.error_type
    if kind == NumberParseException.INVALID_COUNTRY_CODE:
        if text.startswith("+"):
            return "The country code of this phone number does not exist."
        return "Add the country code, starting with + (for example +1 for the US)."
    if kind in (NumberParseException.TOO_SHORT_NSN, NumberParseException.TOO_SHORT_AFTER_IDD):
        return "The phone number is too short."
    if kind == NumberParseException.TOO_LONG:
        return "The phone number is too long."
    return "This does not look like a phone number."


def timezones_for(e164: str) -> list[str]:
    """IANA time zones a number may be in (empty when unknown)."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return []
    zones = pn_timezone.time_zones_for_number(number)
    return [z for z in zones if z != "Etc/Unknown"]


def region_of(e164: str | None) -> str | None:
    """ISO country of a number (e.g. "US"), for per-country telephony rates; None if unknown."""
    if not e164:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or None
    except phonenumbers.NumberParseException:
        return None


def zones_for(candidate_timezone: str | None, phone: str | None) -> tuple[list[str], str]:
    """The zones to respect and where they came from: the candidate record, else the number."""
    if candidate_timezone and candidate_timezone.strip():
        zone = candidate_timezone.strip()
        # A zone typed on the record but unknown here is not guessed from the number: a human
        # wrote it, so a human must fix it.
        return ([zone], "candidate") if valid_zone(zone) else ([], "unknown")
    zones = [z for z in timezones_for(phone) if valid_zone(z)] if phone else []
    return (zones, "number") if zones else ([], "unknown")
