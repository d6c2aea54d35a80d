"""Ultravox's built-in leaveVoicemail never reaches us: find its tool call in the messages."""

from __future__ import annotations

import json
from typing import Any

LEAVE_VOICEMAIL = "leaveVoicemail"


def left_voicemail(messages: list[dict[str, Any]]) -> str | None:
    """The message left with leaveVoicemail ("" when its text is not in the call), or None."""
    for m in messages:
        if m.get("role") != "tool_call" or m.get("tool") != LEAVE_VOICEMAIL:
            continue
        try:
            args = json.loads(m.get("text") or "{}")
        except (ValueError, TypeError):
            args = {}
        return str(args.get("message") or "") if isinstance(args, dict) else ""
    return None
