"""One line saying how a call went, for the lists, the CLI and the exports (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.calling.outcome import outcome_text
from tests.factories import call


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        (dict(status="completed", end_reason="hangup"), "Completed: the candidate hung up"),
        (dict(status="completed", end_reason="agent_hangup"), "Completed: the agent ended the call"),
        (dict(status="completed", end_reason="brand_new_reason"), "Completed: Brand new reason"),
        (dict(status="completed"), "Completed"),
        (dict(status="completed", opt_out=True), "Asked not to be called again"),
        (dict(status="failed", failure_reason="Twilio step failed"),
         "Could not be placed: Twilio step failed"),
        (dict(status="failed", end_reason="connection_error"), "Could not be placed: the connection dropped"),
        (dict(status="failed"), "Could not be placed: no reason given"),
        (dict(status="queued", hold_reason="over budget"), "Held: over budget"),
        (dict(status="queued", next_attempt_at=call().created_at), "Waiting to be dialled"),
        (dict(status="canceled", failure_reason="do-not-call"), "Cancelled: do-not-call"),
        (dict(status="canceled"), "Cancelled"),
        (dict(status="no_answer"), "No answer"),
        (dict(status="in_progress"), "On the call"),
        (dict(status="unknown"), "Outcome unknown: the providers never said how it ended"),
        (dict(status="completed", human_requested={"reason": "needs a person"}),
         "Asked for a person: needs a person"),
        (dict(status="completed", callback={"when_local": "2026-12-03T15:00", "zone": "America/New_York"}),
         "Asked to be called back on 3 Dec 2026 at 15:00, their time (New York)"),
        (dict(status="completed", callback={"flagged": True}),
         "Asked to be called back more than 14 days ahead: for the hiring manager"),
        (dict(status="voicemail", voicemail_left=True), "Left a voicemail message"),
        (dict(status="queued", wait_kind="retry", attempt=2, max_attempts=3, candidate_zone="America/Denver",
              next_attempt_at=datetime(2026, 12, 3, 15, 44, tzinfo=UTC)),
         "Retry at 08:44 on Thu 3 Dec, Denver time (attempt 2 of 3)"),
        (dict(status="queued", wait_kind="callback", candidate_zone="America/New_York",
              next_attempt_at=datetime(2026, 12, 3, 20, 0, tzinfo=UTC)),
         "Call-back the candidate asked for: 15:00 on Thu 3 Dec, New York time"),
        (dict(status="queued", wait_kind="window", next_attempt_at=datetime(2026, 12, 3, 14, 0, tzinfo=UTC)),
         "Waiting for the calling window: 14:00 on Thu 3 Dec, UTC time"),
        ],
)
def test_outcome_text(fields, text) -> None:
    typed = call(**fields)
    assert outcome_text(typed) == text
    assert outcome_text(typed.to_doc()) == text  # a stored document reads the same


def test_a_call_waiting_for_a_later_time_is_not_in_progress() -> None:
    now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert call(status="queued", next_attempt_at=now + timedelta(hours=1)).waiting_at(now)
    assert not call(status="queued", next_attempt_at=now - timedelta(seconds=1)).waiting_at(now)
    assert not call(status="ringing", next_attempt_at=now + timedelta(hours=1)).waiting_at(now)
