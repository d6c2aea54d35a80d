"""A call's transcript as fetched from Ultravox and stored: roles, media and times (pure)."""

from __future__ import annotations

from core.lifecycle.transcripts import transcript_messages
from core.providers.ultravox import Message

MESSAGES = [
    {"role": "MESSAGE_ROLE_AGENT", "text": "Hi, this is the screening call.", "medium":
     "MESSAGE_MEDIUM_VOICE", "timespan": {"start": "0.5s", "end": "2.25s"}},
    {"role": "MESSAGE_ROLE_USER", "text": "Sure, go ahead.",
     "timespan": {"start": "3s", "end": "4s"}},
    {"role": "MESSAGE_ROLE_TOOL_CALL", "text": "{}", "toolName": "hangUp"},
]


def test_ultravox_messages_become_stored_turns() -> None:
    stored = transcript_messages([Message.model_validate(m) for m in MESSAGES])
    assert [m["role"] for m in stored] == ["agent", "user", "tool_call"]
    assert (stored[0]["start_s"], stored[0]["end_s"]) == (0.5, 2.25)
    assert (stored[1]["start_s"], stored[1]["end_s"]) == (3.0, 4.0)
    assert stored[2]["start_s"] is None and stored[2]["end_s"] is None
    assert [m["medium"] for m in stored] == ["voice", "voice", "voice"]
    assert stored[0]["text"] == "Hi, this is the screening call."


def test_plain_dicts_unknown_roles_text_media_and_missing_text() -> None:
    stored = transcript_messages([
        {"role": "MESSAGE_ROLE_TOOL_RESULT", "text": "ok"},
        {"role": "MESSAGE_ROLE_SOMETHING_NEW", "medium": "MESSAGE_MEDIUM_TEXT"},
        {"text": "who?"},
    ])
    assert [m["role"] for m in stored] == ["tool_result", "something_new", "unknown"]
    assert [m["medium"] for m in stored] == ["voice", "text", "voice"]
    assert stored[1]["text"] == ""
