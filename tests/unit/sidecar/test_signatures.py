"""The sidecar's signature checks on a request: the public URL Twilio signed, and the verdicts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, request
from twilio.request_validator import RequestValidator

from core.config import get_settings
from sidecar.signatures import public_url, twilio_check

PATH = "/webhooks/twilio/status"
FORM = {"CallSid": "CA" + "a" * 32, "CallStatus": "ringing", "SequenceNumber": "1"}


@pytest.fixture(autouse=True)
def _behind_a_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PROVIDER_MODE", "sandbox")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://hooks.example.com/")
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _signed(base: str, form: dict[str, str]) -> str:
    return RequestValidator(get_settings().twilio_token).compute_signature(base + PATH, form)


def test_the_url_is_rebuilt_from_the_public_base_with_the_query_as_sent() -> None:
    # The test request arrives at http://localhost; the provider called the public https URL.
    with Flask(__name__).test_request_context(PATH + "?a=1&b=%20x", method="POST"):
        assert request.url.startswith("http://localhost/")
        assert public_url(request) == "https://hooks.example.com/webhooks/twilio/status?a=1&b=%20x"
    with Flask(__name__).test_request_context(PATH, method="POST"):
        assert public_url(request) == "https://hooks.example.com/webhooks/twilio/status"


@pytest.mark.parametrize(
    ("signature_base", "verdict"),
    [
        ("https://hooks.example.com", None),  # what Twilio signed
        ("http://localhost", "bad signature"),  # what a proxy-unaware app would check
    ],
)
def test_twilio_signature_is_checked_against_the_public_url(signature_base: str, verdict) -> None:
    headers = {"X-Twilio-Signature": _signed(signature_base, FORM)}
    with Flask(__name__).test_request_context(PATH, method="POST", data=FORM, headers=headers):
        assert twilio_check(request) == verdict


def test_a_missing_twilio_signature_is_its_own_reason() -> None:
    with Flask(__name__).test_request_context(PATH, method="POST", data=FORM):
        assert twilio_check(request) == "missing signature header"
