"""The sandbox agent's tool calls: made over HTTP exactly as Ultravox makes them.

From the call's own `selectedTools` (what the create-call request gave Ultravox): the URL and
method of the temporary tool, the model's arguments plus the static parameters and the
automatic ones (the Ultravox call id) as top-level keys of a JSON body, and the header that the
tool's API-key requirement names, carrying the token from `authTokens`. The answer's body is
the tool result the model reads. Built-in tools (leaveVoicemail, hangUp) never leave Ultravox.
"""

from __future__ import annotations

import json
from typing import Any

import requests

_BUILT_IN_RESULTS = {"leaveVoicemail": "[Leaving voicemail...]", "hangUp": "OK"}


def _seconds(duration: Any, default: float) -> float:
    try:
        return float(str(duration).rstrip("s"))
    except (TypeError, ValueError):
        return default


def _definition(call_data: dict[str, Any], name: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    for entry in call_data.get("selectedTools") or []:
        temporary = entry.get("temporaryTool") if isinstance(entry, dict) else None
        if temporary and temporary.get("modelToolName") == name:
            return temporary, entry.get("authTokens") or {}
    return None, {}


def tool_names(call_data: dict[str, Any]) -> frozenset[str]:
    """The tools the model of this call may call (temporary ones and built-ins by name)."""
    names = set()
    for entry in call_data.get("selectedTools") or []:
        if not isinstance(entry, dict):
            continue
        temporary = entry.get("temporaryTool") or {}
        name = temporary.get("modelToolName") or entry.get("toolName") or entry.get("nameOverride")
        if name:
            names.add(str(name))
    return frozenset(names)


def invoke(call_data: dict[str, Any], name: str, args: dict[str, Any]) -> tuple[str, str | None]:
    """Run one tool call; (the result text the model reads, error details or None)."""
    if name in _BUILT_IN_RESULTS:
        return _BUILT_IN_RESULTS[name], None
    definition, tokens = _definition(call_data, name)
    if definition is None:
        return "", f"tool {name} is not selected for this call"
    body = dict(args)
    headers = {"Content-Type": "application/json"}
    for param in definition.get("staticParameters") or []:
        if param.get("location") in (None, "PARAMETER_LOCATION_BODY"):
            body[param["name"]] = param.get("value")
    for param in definition.get("automaticParameters") or []:
        if param.get("knownValue") == "KNOWN_PARAM_CALL_ID":
            body[param["name"]] = call_data.get("callId")
    security = (definition.get("requirements") or {}).get("httpSecurityOptions") or {}
    for option in security.get("options") or []:
        needs = option.get("requirements") or {}
        if needs and all(k in tokens for k in needs):  # the first option the tokens satisfy
            for key, requirement in needs.items():
                header = (requirement.get("headerApiKey") or {}).get("name")
                if header:
                    headers[header] = tokens[key]
            break
    http = definition.get("http") or {}
    try:
        response = requests.request(http.get("httpMethod", "POST"), http["baseUrlPattern"],
                                    data=json.dumps(body), headers=headers,
                                    timeout=_seconds(definition.get("timeout"), 2.5))
    except requests.RequestException as exc:
        return "The tool failed.", f"{type(exc).__name__}"
    if response.status_code >= 300:
        return response.text, f"HTTP {response.status_code}"
    return response.text, None
