"""Where a candidate is, for the laws that follow the person: a US state ("US-CA") or a country
("GB"), from the candidate record, else read from the phone number ("from the number")."""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, geocoder

from core.errors import UserError

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico",
}
_STATE_BY_NAME = {name.lower(): code for code, name in US_STATES.items()}
# How the number geocoder and people also write the capital.
_STATE_BY_NAME.update({"washington d.c.": "DC", "washington dc": "DC", "washington, d.c.": "DC"})

# US states whose recording laws ask every party to agree (the default of the editable setting).
ALL_PARTY_CONSENT_DEFAULT: tuple[str, ...] = (
    "US-CA", "US-CT", "US-DE", "US-FL", "US-IL", "US-MD", "US-MA", "US-MI", "US-MT", "US-NV",
    "US-NH", "US-OR", "US-PA", "US-WA",
)


class PlaceError(UserError, ValueError):
    """A state or country this system cannot read; the message says what it accepts."""


@dataclass(frozen=True)
class Place:
    """A candidate's place: `code` ("US-CA", "GB"; None when unknown) and where it came from
    ("candidate": the record, "number": read from the phone number, "unknown")."""

    code: str | None
    source: str

    @property
    def label(self) -> str:
        """The place in words ("California, US"; "GB"; "unknown")."""
        return place_label(self.code)

    @property
    def label_with_source(self) -> str:
        """As shown beside a call ("California, US (from the number)")."""
        if self.code is None:
            return "unknown"
        return self.label + (" (from the number)" if self.source == "number" else "")


def place_label(code: str | None) -> str:
    """A place code in words."""
    if not code:
        return "unknown"
    if code.startswith("US-") and code[3:] in US_STATES:
        return f"{US_STATES[code[3:]]}, US"
    return code


def normalize_place(raw: str | None) -> str | None:
    """A typed state or country as a code: "CA", "California", "US-CA" → "US-CA"; "gb" → "GB".

    Two letters name a US state when one has them ("CA" is California, not Canada; write "Canada"
    as the country code only where no state shares it). Blank → None; anything else is refused.
    """
    text = " ".join((raw or "").split())
    if not text:
        return None
    upper = text.upper()
    if upper.startswith("US-") and upper[3:] in US_STATES:
        return upper
    if upper in US_STATES:
        return f"US-{upper}"
    if text.lower() in _STATE_BY_NAME:
        return f"US-{_STATE_BY_NAME[text.lower()]}"
    if len(upper) == 2 and upper in phonenumbers.SUPPORTED_REGIONS:
        return upper
    raise PlaceError(f"“{text}” is not a US state or a two-letter country code "
                     "(for example CA, California, US-CA or GB).")


def place_from_number(e164: str | None) -> str | None:
    """The place a number belongs to: a US state from its area code, else its country."""
    if not e164:
        return None
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return None
    country = phonenumbers.region_code_for_number(number)
    if not country or country == "ZZ":
        return None
    if country == "US":
        # The geocoder names a US area code's state, or a city as "City, ST".
        words = geocoder.description_for_number(number, "en")
        tail = words.rsplit(", ", 1)[-1].strip()
        state = tail.upper() if tail.upper() in US_STATES else _STATE_BY_NAME.get(words.lower())
        return f"US-{state}" if state else "US"
    return country


def place_of(region: str | None, phone: str | None) -> Place:
    """The candidate's place: the record's, else the number's."""
    if region:
        return Place(region, "candidate")
    from_number = place_from_number(phone)
    return Place(from_number, "number") if from_number else Place(None, "unknown")


def needs_all_party_consent(place: Place, all_party_places: list[str]) -> bool | None:
    """True if the place asks every party to agree to a recording; None when the place is
    unknown (a caller must treat that as "yes": an unknown place is not a permissive one)."""
    if place.code is None:
        return None
    listed = {p.strip().upper() for p in all_party_places}
    # A whole country listed covers its states ("US" would cover "US-TX").
    return place.code in listed or place.code.split("-", 1)[0] in listed
