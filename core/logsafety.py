"""Logs never carry phone numbers: a last line of defence installed in every process.

Code already avoids logging numbers; this masks any E.164-looking number that slips through
(a library's debug line, an exception message, an access-log line) in every record of the
process, whatever logger or handler it goes to: the record factory masks each record when it
is created, before any handler or formatter sees it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PHONE_MASK = "[phone]"
# A plus sign (also URL-encoded, as in form bodies and query strings) and 7 to 15 digits,
# possibly grouped by spaces, dots, dashes or brackets: what E.164 numbers look like in text.
_PHONE = re.compile(r"(?:\+|%2[bB])\s?\(?\d(?:[\s().-]{0,2}\d){6,14}(?!\d)")
# Loggers whose DEBUG output carries whole documents or request bodies, so they never log
# below these levels whatever LOG_LEVEL says.
_FLOORS = {"pymongo": logging.INFO, "twilio.http_client": logging.WARNING}


def mask_phones(text: str) -> str:
    """`text` with every E.164-looking phone number replaced by [phone]."""
    return _PHONE.sub(PHONE_MASK, text)


def mask_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask phone numbers in a record's message, exception text and stack (in place)."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string is reported by the handler as usual
        return record
    masked = mask_phones(message)
    if masked != message:
        record.msg, record.args = masked, ()
    if record.exc_info and not record.exc_text:
        # Formatted here so the handler reuses the masked text (Formatter keeps exc_text).
        record.exc_text = mask_phones(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = mask_phones(record.exc_text)
    if record.stack_info:
        record.stack_info = mask_phones(record.stack_info)
    return record


class PhoneMaskFilter(logging.Filter):
    """A handler filter that masks phone numbers (for handlers configured by hand)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record and let it through."""
        mask_record(record)
        return True


def install_phone_masking() -> None:
    """Mask phone numbers in every log record this process creates (idempotent)."""
    current: Callable[..., logging.LogRecord] = logging.getLogRecordFactory()
    if getattr(current, "masks_phones", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return mask_record(current(*args, **kwargs))

    factory.masks_phones = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def configure(level: str | int = "INFO") -> None:
    """Set up this process's logging: the level, phone masking, and quiet chatty libraries."""
    logging.basicConfig(level=level.upper() if isinstance(level, str) else level, format=LOG_FORMAT)
    install_phone_masking()
    for name, floor in _FLOORS.items():
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < floor:
            logger.setLevel(floor)
