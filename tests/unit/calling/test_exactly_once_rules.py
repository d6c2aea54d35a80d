"""Pure rules behind exactly-once dialling: which Twilio call is ours, and DST's repeated hour."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime, timedelta

from core.agent.models import CallingHours, TimeWindow, Weekday
from core.calling import hours as calling_hours
from core.calling.settle import matching
from core.providers.telephony import TwilioCall

SENT = datetime(2026, 12, 2, 14, 0, 0, tzinfo=UTC)


def _twilio(sid: str, created: datetime | None) -> TwilioCall:
    return TwilioCall(sid=sid, status="completed", price=None, price_unit=None, duration=None,
                      date_created=created)


def test_only_calls_created_around_the_dial_and_not_linked_elsewhere_match() -> None:
    calls = [
        _twilio("CA_early", SENT - timedelta(seconds=6)),     # before the request left
        _twilio("CA_ours", SENT + timedelta(seconds=1)),
        _twilio("CA_edge", SENT - timedelta(seconds=5)),       # clock slack allowed
        _twilio("CA_late", SENT + timedelta(minutes=2, seconds=1)),
        _twilio("CA_other", SENT + timedelta(seconds=2)),      # another call of ours has it
        _twilio("CA_undated", None),
    ]
    ours = {"CA_other": "call-2", "CA_ours": None, "CA_edge": "call-1"}
    found = matching(calls, SENT, ours, "call-1")
    assert [c.sid for c in found] == ["CA_ours", "CA_edge"]


def _one_to_two_am_new_york() -> CallingHours:
    window = [TimeWindow(start=dt.time(1, 0), end=dt.time(1, 45))]
    return CallingHours(windows={Weekday.SUN: window})


def test_the_repeated_hour_of_a_dst_change_is_judged_by_the_real_instant() -> None:
    # 1 Nov 2026, New York falls back at 02:00 EDT: 01:00–02:00 happens twice.
    hours = _one_to_two_am_new_york()
    first = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)   # 01:30 EDT (first time)
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST (second time)
    late = datetime(2026, 11, 1, 6, 50, tzinfo=UTC)    # 01:50 EST: after the window's end
    for instant, allowed in ((first, True), (second, True), (late, False)):
        verdict = calling_hours.check(hours, now=instant, candidate_timezone="America/New_York",
                                      phone=None)
        assert verdict.allowed is allowed, instant
    assert "01:50" in calling_hours.check(hours, now=late, candidate_timezone="America/New_York",
                                          phone=None).reason


def test_the_next_opening_after_the_repeated_hour_is_a_week_later() -> None:
    hours = _one_to_two_am_new_york()
    late = datetime(2026, 11, 1, 6, 50, tzinfo=UTC)
    opening = calling_hours.next_opening(hours, ["America/New_York"], late)
    assert opening == datetime(2026, 11, 8, 6, 0, tzinfo=UTC)  # 01:00 EST next Sunday
