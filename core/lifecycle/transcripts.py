"""A call's transcript as fetched from Ultravox and stored."""

from __future__ import annotations

from typing import Any

from core.lifecycle import events as ev

_ROLES = {
    "MESSAGE_ROLE_USER": "user",
    "MESSAGE_ROLE_AGENT": "agent",
    "MESSAGE_ROLE_TOOL_CALL": "tool_call",
    "MESSAGE_ROLE_TOOL_RESULT": "tool_result",
}


# -- transcript ---------------------------------------------------------------------------


def _seconds(span: Any, key: str) -> float | None:
    if isinstance(span, dict):
        return ev.parse_duration(span.get(key)) if isinstance(span.get(key), str) else None
    return None


def transcript_messages(messages: list[Any]) -> list[dict[str, Any]]:
    """Ultravox messages (models or dicts) as stored transcript entries."""
    out = []
    for m in messages:
        data = m.model_dump(by_alias=True) if hasattr(m, "model_dump") else dict(m)
        role = str(data.get("role") or "")
        out.append({
            "role": _ROLES.get(role, role.removeprefix("MESSAGE_ROLE_").lower() or "unknown"),
            "text": str(data.get("text") or ""),
            "medium": "text" if data.get("medium") == "MESSAGE_MEDIUM_TEXT" else "voice",
            "start_s": _seconds(data.get("timespan"), "start"),
            "end_s": _seconds(data.get("timespan"), "end"),
            # Which tool a tool call or result is (recordAnswer, leaveVoicemail…).
            **({"tool": str(data["toolName"])} if data.get("toolName") else {}),
        })
    return out
