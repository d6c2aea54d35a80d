"""The last line of defence: no E.164-looking number survives into a log line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from core import logsafety

NUMBER = "+14155550123"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Every record of the process, formatted as a handler would write it, with masking on."""
    factory = logging.getLogRecordFactory()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(logsafety.LOG_FORMAT))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logsafety.install_phone_masking()
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        logging.setLogRecordFactory(factory)


@pytest.mark.parametrize("text", [NUMBER, "+1 415-555-0123", "+1 (415) 555 0123", "+44 20 7946 0958",
                                  "To=%2B14155550123&From=%2b15005550006", "tel:+4915112345678"])
def test_e164_looking_numbers_are_masked(text):
    masked = logsafety.mask_phones(f"dialling {text} now")
    assert "[phone]" in masked
    assert not any(run in masked for run in ("4155550123", "79460958", "15112345678", "5550123"))


@pytest.mark.parametrize("text", ["call 3f9a2b10c4d5 status 200", "took 1234 ms", "+5 retries",
                                  "v1.2.3", "2026-12-02 13:56:28,984"])
def test_other_text_is_left_alone(text):
    assert logsafety.mask_phones(text) == text


def test_every_logger_at_debug_is_masked_args_and_exceptions_too(captured, monkeypatch):
    twilio_log = logging.getLogger("twilio.http_client")
    monkeypatch.setattr(twilio_log, "level", logging.DEBUG)  # as if someone turned it up
    twilio_log.manager._clear_cache()
    twilio_log.debug("POST /Calls.json To=%s", NUMBER)
    logging.getLogger("werkzeug").info('127.0.0.1 - "GET /x?to=%2B14155550123 HTTP/1.1" 200')
    logging.getLogger("gunicorn.access").info('127.0.0.1 "POST /webhooks?From=%s" 200', NUMBER)
    try:
        raise RuntimeError(f"Twilio 21211: The 'To' number {NUMBER} is not a valid phone number")
    except RuntimeError:
        logging.getLogger("core.calling").exception("dial failed for %s", {"to": NUMBER})
    text = captured.getvalue()
    assert "4155550123" not in text
    assert text.count("[phone]") >= 5 and "Traceback" in text


def test_a_handler_filter_masks_records_made_before_the_factory():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "to %s", (NUMBER,), None)
    logsafety.PhoneMaskFilter().filter(record)
    assert record.getMessage() == "to [phone]"


def test_installing_twice_masks_once(captured):
    logsafety.install_phone_masking()
    logging.getLogger("x").warning("to %s", NUMBER)
    assert captured.getvalue().strip().endswith("to [phone]")


def test_chatty_libraries_stay_quiet_at_debug(monkeypatch):
    factory = logging.getLogRecordFactory()
    for name in ("pymongo", "twilio.http_client"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    try:
        logsafety.configure("DEBUG")
        # pymongo's DEBUG command log carries whole documents (names, transcripts).
        assert not logging.getLogger("pymongo.command").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("twilio.http_client").isEnabledFor(logging.INFO)
    finally:
        logging.setLogRecordFactory(factory)
