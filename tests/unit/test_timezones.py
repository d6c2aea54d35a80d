"""Time zones: real names only, the chooser's order, one instant written once per zone."""

from __future__ import annotations

from datetime import UTC, datetime

from core.timezones import candidate_clock, place_name, readable, readable_for_both, valid_zone, zone_choices

AT = datetime(2026, 3, 2, 15, 4, 5, 123456, tzinfo=UTC)


def test_only_real_zones_are_valid() -> None:
    assert valid_zone("America/Denver") and valid_zone("UTC")
    assert not valid_zone("Mars/Olympus") and not valid_zone("") and not valid_zone(None)
    assert not valid_zone("../etc/passwd")


def test_the_preferred_zone_comes_first_then_utc() -> None:
    choices = zone_choices("Europe/Berlin")
    assert choices[:2] == ["Europe/Berlin", "UTC"] and choices.count("Europe/Berlin") == 1
    assert zone_choices("Mars/Olympus")[0] == "UTC"  # an unknown preference is not offered


def test_an_instant_reads_like_people_write_it() -> None:
    assert readable(AT, "America/New_York") == "2 Mar 2026, 10:04 EST"  # no seconds, no microseconds
    assert readable(AT, "Asia/Tokyo") == "3 Mar 2026, 00:04 JST"
    assert readable(AT, "Nowhere/Land") == "2 Mar 2026, 15:04 UTC"
    assert readable(None, "UTC") == "—"
    assert readable(AT, "UTC", with_zone=False) == "2 Mar 2026, 15:04"


def test_the_candidates_clock_names_their_place() -> None:
    assert candidate_clock(AT, "America/Denver") == "08:04 for the candidate, Denver"
    assert candidate_clock(AT, "America/Port_of_Spain").endswith("Port of Spain")
    assert candidate_clock(AT, None) == "" and candidate_clock(None, "UTC") == ""
    assert place_name("America/Argentina/Buenos_Aires") == "Buenos Aires"


def test_the_candidates_clock_is_beside_only_when_their_zone_differs() -> None:
    assert readable_for_both(AT, "UTC", "America/Denver") == (
        "2 Mar 2026, 15:04 UTC (08:04 for the candidate, Denver)")
    assert readable_for_both(AT, "America/Denver", "America/Denver") == "2 Mar 2026, 08:04 MST"
    assert readable_for_both(AT, "UTC", "") == "2 Mar 2026, 15:04 UTC"
