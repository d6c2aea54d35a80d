"""The spoken opt-out matcher (pure rules)."""

from __future__ import annotations

import pytest

from core.lifecycle.opt_out import detect_opt_out


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "agent", "text": "Hi, is now a good time?"}, {"role": "user", "text": text}]


@pytest.mark.parametrize("text", [
    "No. Please stop calling me, don't call me again.",
    "Please stop calling me.",
    "Do not call me again!",
    "Don\u2019t ever call me again",
    "never call this number again",
    "Take me off your calling list, thanks.",
    "Remove my number from your list",
    "Put me on your do-not-call list.",
    "I don't want any more calls from you",
    "I do not want you to call me anymore.",
    "STOP CALLING ME",
])
def test_opt_out_phrases(text: str) -> None:
    assert detect_opt_out(_user(text))


@pytest.mark.parametrize("text", [
    "Sure, go ahead.",
    "You can call me again tomorrow afternoon.",
    "Please don't stop calling me, I want this job!",
    "I didn't say stop calling me.",
    "Will you call me back later?",
    "My last job was at a call centre where people asked us to stop calling them.",
    "I'd want to be in the market range for the role.",
])
def test_not_opt_out(text: str) -> None:
    assert detect_opt_out(_user(text)) is None


def test_only_the_candidate_counts() -> None:
    messages = [{"role": "agent", "text": "If you like, we can stop calling you."},
                {"role": "user", "text": "No, that's fine."}]
    assert detect_opt_out(messages) is None
