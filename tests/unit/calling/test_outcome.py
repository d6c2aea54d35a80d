"""One line saying how a call went, for the lists, the CLI and the exports (pure)."""

from __future__ import annotations

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
        ],
)
def test_outcome_text(fields, text) -> None:
    typed = call(**fields)
    assert outcome_text(typed) == text
    assert outcome_text(typed.to_doc()) == text  # a stored document reads the same
