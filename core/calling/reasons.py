"""Why a call failed or ended, as stored and shown: never with a phone number in it (pure)."""

from __future__ import annotations

import re

from core.logsafety import mask_phones

MAX_REASON = 500
NUMBER_HIDDEN = "(number hidden)"
# A run of 7 or more digits, possibly grouped by spaces, dots, dashes or brackets, that is not
# part of a word or an id: a number written without its +country code ("2125550107",
# "(212) 555-0107"). A date ("2026-03-02 15:00") is not one; error codes have 5 digits.
_BARE_NUMBER = re.compile(r"(?<![\w.])(?!\d{4}-\d\d-\d\d)\(?\d(?:[\s().-]{0,2}\d){6,}(?![\w])")


def hide_numbers(text: str) -> str:
    """`text` with everything that looks like a phone number replaced by "(number hidden)"."""
    masked = mask_phones(text).replace("[phone]", NUMBER_HIDDEN)
    return _BARE_NUMBER.sub(NUMBER_HIDDEN, masked)


def clean_reason(text: str | None, limit: int = MAX_REASON) -> str | None:
    """A failure reason fit to store and show: phone numbers hidden, at most `limit` characters.

    Provider texts quote the dialled number ("Account not authorized to call +1…"); reasons are
    shown to every role, so whatever wrote one, no number survives.
    """
    if text is None:
        return None
    return hide_numbers(str(text))[:limit]
