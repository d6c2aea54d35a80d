"""One line saying how a call went, for the lists, the CLI and the exports (pure)."""

from __future__ import annotations

import pytest

from core.calling.outcome import outcome_text
from tests.factories import call


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        (dict(status="completed", end_reason="hangup"), "completed (hangup)"),
        (dict(status="completed"), "completed"),
        (dict(status="completed", opt_out=True), "candidate asked not to be called again"),
        (dict(status="failed", failure_reason="Twilio step failed"), "failed: Twilio step failed"),
        (dict(status="failed", end_reason="connection_error"), "failed: connection_error"),
        (dict(status="failed"), "failed: unknown"),
        (dict(status="queued", hold_reason="over budget"), "held: over budget"),
        (dict(status="queued", next_attempt_at=call().created_at), "queued"),
        (dict(status="canceled", failure_reason="do-not-call"), "canceled: do-not-call"),
        (dict(status="canceled"), "canceled"),
        (dict(status="no_answer"), "no answer"),
        (dict(status="in_progress"), "in progress"),
        (dict(status="completed", human_requested={"reason": "needs a person"}),
         "candidate asked for a person: needs a person"),
        (dict(status="completed", callback={"when_local": "2026-12-03T15:00", "zone": "America/New_York"}),
         "candidate asked to be called back at 2026-12-03T15:00 (America/New_York)"),
        (dict(status="completed", callback={"flagged": True}),
         "candidate asked to be called back more than 14 days ahead: for the hiring manager"),
        (dict(status="voicemail", voicemail_left=True), "left a voicemail message"),
    ],
)
def test_outcome_text(fields, text) -> None:
    typed = call(**fields)
    assert outcome_text(typed) == text
    assert outcome_text(typed.to_doc()) == text  # a stored document reads the same
