"""Calling hours in the candidate's own local time, with a frozen clock."""

import datetime as dt
from datetime import UTC, datetime, timedelta

import pytest

from core.agent.models import CallingHours, TimeWindow, Weekday
from core.calling import hours as calling_hours
from core.people import phones

HOURS = CallingHours()  # Monday-Friday 09:00-18:00 local


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_zone_from_the_record_wins_over_the_number():
    # 15:00 UTC on a Tuesday in June = 11:00 New York (EDT), 08:00 Los Angeles (PDT).
    ok = calling_hours.check(HOURS, now=at(2025, 6, 10, 15), candidate_timezone="America/New_York",
                             phone="+14155550100")
    assert ok.allowed and ok.zones == ["America/New_York"] and ok.zone_source == "candidate"
    early = calling_hours.check(HOURS, now=at(2025, 6, 10, 15), candidate_timezone=None,
                                phone="+14155550100")
    assert not early.allowed and not early.held
    assert early.zones == ["America/Los_Angeles"] and early.zone_source == "number"
    assert "08:00" in early.reason
    # Next opening: 09:00 Los Angeles = 16:00 UTC the same day.
    assert early.next_open_at == at(2025, 6, 10, 16)
    record = early.as_record()
    assert record["zone"] == "America/Los_Angeles" and record["allowed"] is False
    assert record["local_time"].startswith("2025-06-10T08:00")


def test_same_instant_differs_across_zones():
    now = at(2025, 6, 10, 22)  # 18:00 New York (window closed), 15:00 Los Angeles
    ny = calling_hours.check(HOURS, now=now, candidate_timezone="America/New_York", phone=None)
    la = calling_hours.check(HOURS, now=now, candidate_timezone="America/Los_Angeles", phone=None)
    tokyo = calling_hours.check(HOURS, now=now, candidate_timezone="Asia/Tokyo", phone=None)
    assert not ny.allowed and la.allowed
    assert not tokyo.allowed  # 07:00 Wednesday in Tokyo
    assert tokyo.next_open_at == at(2025, 6, 11, 0)  # 09:00 Tokyo


def test_weekend_defers_to_monday():
    saturday_noon_ny = at(2025, 6, 14, 16)
    res = calling_hours.check(HOURS, now=saturday_noon_ny, candidate_timezone="America/New_York",
                              phone=None)
    assert not res.allowed and res.next_open_at == at(2025, 6, 16, 13)  # Mon 09:00 EDT


def test_dst_change_moves_the_utc_opening():
    # New York: EST (UTC-5) until Sunday 9 March 2025 02:00, then EDT (UTC-4).
    friday = calling_hours.check(HOURS, now=at(2025, 3, 7, 13, 30),
                                 candidate_timezone="America/New_York", phone=None)
    assert not friday.allowed and friday.next_open_at == at(2025, 3, 7, 14)  # 09:00 EST
    monday = calling_hours.check(HOURS, now=at(2025, 3, 10, 13, 30),
                                 candidate_timezone="America/New_York", phone=None)
    assert monday.allowed  # 09:30 EDT: the same UTC time was 08:30 the week before
    sunday = calling_hours.check(HOURS, now=at(2025, 3, 9, 12),
                                 candidate_timezone="America/New_York", phone=None)
    assert sunday.next_open_at == at(2025, 3, 10, 13)  # Monday 09:00 EDT


def test_window_starting_in_the_spring_forward_gap():
    # 02:30 does not exist in New York on 9 March 2025; the check still answers sanely.
    hours = CallingHours(windows={Weekday.SUN: [TimeWindow(start=dt.time(2, 30),
                                                           end=dt.time(4, 0))]})
    res = calling_hours.check(hours, now=at(2025, 3, 9, 5), candidate_timezone="America/New_York",
                              phone=None)
    assert not res.allowed
    assert res.next_open_at is not None
    assert hours.allows(res.next_open_at.astimezone(calling_hours.ZoneInfo("America/New_York")))


def test_several_zone_number_needs_every_zone_inside():
    # +1 208 spans America/Boise (Mountain) and America/Los_Angeles (Pacific).
    zones, source = phones.zones_for(None, "+12085550100")
    assert sorted(zones) == ["America/Boise", "America/Los_Angeles"] and source == "number"
    # 15:30 UTC Tuesday in June: 09:30 Boise (inside), 08:30 Los Angeles (outside).
    res = calling_hours.check(HOURS, now=at(2025, 6, 10, 15, 30), candidate_timezone=None,
                              phone="+12085550100")
    assert not res.allowed and "several zones" in res.reason
    assert res.next_open_at == at(2025, 6, 10, 16)  # when Los Angeles opens too
    later = calling_hours.check(HOURS, now=at(2025, 6, 10, 16, 30), candidate_timezone=None,
                                phone="+12085550100")
    assert later.allowed and len(later.local_times) == 2
    # 23:30 UTC: 17:30 Boise (inside), 16:30 LA (inside); 00:30 UTC: Boise closed.
    assert calling_hours.check(HOURS, now=at(2025, 6, 10, 23, 30), candidate_timezone=None,
                               phone="+12085550100").allowed
    assert not calling_hours.check(HOURS, now=at(2025, 6, 11, 0, 30), candidate_timezone=None,
                                   phone="+12085550100").allowed


@pytest.mark.parametrize("tz,phone", [(None, "+15555550100"), (None, None),
                                      ("Mars/Olympus_Mons", "+14155550100")])
def test_unknown_zone_is_held_for_a_person(tz, phone):
    res = calling_hours.check(HOURS, now=at(2025, 6, 10, 17), candidate_timezone=tz, phone=phone)
    assert not res.allowed and res.held and res.next_open_at is None
    assert "Held for a person" in res.reason
    assert res.as_record()["zone"] is None


def test_toll_free_number_spanning_every_zone_never_fits_and_is_held():
    res = calling_hours.check(HOURS, now=at(2025, 6, 10, 17), candidate_timezone=None,
                              phone="+18005550100")
    assert not res.allowed and res.held


def test_naive_clock_is_refused():
    with pytest.raises(ValueError):
        calling_hours.check(HOURS, now=datetime(2025, 6, 10, 17), candidate_timezone=None,
                            phone=None)


def test_the_opening_is_said_on_the_candidates_clock_with_how_long_until_then():
    from core.calling.hours import opening_sentence, opening_words

    opening = datetime(2026, 12, 3, 16, 0, tzinfo=UTC)  # 09:00 in Denver
    now = opening - timedelta(hours=2, minutes=50)
    assert opening_words(opening, ["America/Denver"]) == "09:00 on Thu 3 Dec, Denver time"
    assert opening_sentence(opening, ["America/Denver", "America/Phoenix"], now) == (
        "The calling window opens at 09:00 on Thu 3 Dec, Denver time (in 2 h 50 min).")
    assert opening_sentence(opening, ["America/Denver"], opening - timedelta(days=2, hours=1)).endswith(
        "(in 2 d 1 h).")
