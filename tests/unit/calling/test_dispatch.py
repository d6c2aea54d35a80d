"""The retry policy's rule: which endings earn another attempt (pure)."""

from __future__ import annotations

import pytest

from core.agent import defaults as agent_defaults
from core.agent.models import RetryPolicy
from core.calling.dispatch import retryable
from tests.factories import call


def _config(*, after_voicemail: bool):
    policy = RetryPolicy(max_attempts=2, spacing_minutes=30, retry_after_voicemail=after_voicemail)
    return agent_defaults.default_global_config().model_copy(update={"retry_policy": policy})


@pytest.mark.parametrize(
    ("status", "after_voicemail", "expected"),
    [
        ("no_answer", False, True),
        ("busy", False, True),
        ("voicemail", False, False),
        ("voicemail", True, True),
        ("completed", True, False),
        ("failed", True, False),
        ("canceled", True, False),
    ],
)
def test_no_answer_and_busy_are_retried_voicemail_only_if_configured(status, after_voicemail, expected):
    assert retryable(call(status=status), _config(after_voicemail=after_voicemail)) is expected


def test_a_candidate_who_opted_out_is_never_retried():
    assert not retryable(call(status="no_answer", opt_out=True), _config(after_voicemail=True))
