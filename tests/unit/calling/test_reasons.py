"""Failure reasons never carry a phone number; Twilio's refusals are said in our words (pure)."""

from __future__ import annotations

import pytest

from core.calling.outcome import outcome_text
from core.calling.reasons import MAX_REASON, NUMBER_HIDDEN, clean_reason
from core.providers.telephony import refusal_text, refused_call_reason
from tests.factories import call


@pytest.mark.parametrize("text", [
    "Account not authorized to call +12125550107. Perhaps you need to enable permissions",
    "The number 2125550107 is unverified. Trial accounts cannot call unverified numbers",
    "Invalid 'To' Phone Number: +1 (212) 555-0107",
    "Cannot reach (212) 555-0107 right now",
    "dialled 212.555.0107",
    "To=%2B12125550107",
])
def test_numbers_are_hidden(text):
    cleaned = clean_reason(text)
    assert NUMBER_HIDDEN in cleaned
    assert "5550107" not in cleaned.replace(" ", "").replace("-", "").replace(".", "")


@pytest.mark.parametrize("text", [
    "Twilio refused the call: the number is not a valid phone number (error 21211)",
    "Not dialled: Outside calling hours. The window opens at 2026-03-02 15:00 UTC.",
    "The monthly budget would be exceeded: 0.974 of 1.50 is committed",
    "call 3f9a2b1234567c4d5 ended; 2 Twilio calls to this number started around the dial",
    "at 2026-12-02 13:56:28,984",
])
def test_other_text_is_kept(text):
    assert clean_reason(text) == text


def test_long_reasons_are_cut_and_none_stays_none():
    assert len(clean_reason("x" * 2000)) == MAX_REASON
    assert clean_reason(None) is None


@pytest.mark.parametrize(("code", "words"), [
    (21211, "not a valid phone number"), (21214, "cannot be reached"),
    (21215, "geographic permissions"), (21216, "blocks calls"), (21217, "does not appear"),
    (21219, "trial account"), (21610, "unsubscribed"), (13224, "cannot call this kind"),
    (13227, "international permissions"),
])
def test_known_twilio_refusals_in_plain_words(code, words):
    reason = refused_call_reason(code, 400)
    assert reason.startswith("Twilio refused the call: ") and words in reason
    assert reason.endswith(f"(error {code})")


def test_other_twilio_refusals_name_only_the_code():
    assert refused_call_reason(12345, 400) == "Twilio refused the call (error 12345)"
    assert refused_call_reason(None, 400) == "Twilio refused the call (HTTP 400)"
    assert "credentials" in refusal_text(None, 401)


def test_an_old_stored_reason_is_shown_without_its_number():
    old = call(status="failed", failure_reason="Twilio step failed: cannot call +12125550107 (error 21215)")
    shown = outcome_text(old)
    assert shown == f"Could not be placed: Twilio step failed: cannot call {NUMBER_HIDDEN} (error 21215)"
    unknown = call(status="unknown", failure_reason="2 calls to 2125550107 around the dial")
    assert "2125550107" not in outcome_text(unknown)
