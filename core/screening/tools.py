"""The agent's temporary HTTP tools, as sent to Ultravox when a call is created (pure).

Each call gets its own key, HMAC-SHA256(TOOL_AUTH_KEY, our call id), handed to Ultravox in
the call's `authTokens` and sent back by Ultravox in the `X-Tool-Key` header (a header API-key
requirement). Our call id travels as a static parameter (not secret: static parameters are
readable through Ultravox's API); Ultravox's own call id as an automatic parameter. No secret
and never the Ultravox API key goes into a parameter.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from importlib import resources
from typing import Any

TOOL_HEADER = "X-Tool-Key"
TOOL_PATH = "/tools"
# Ultravox's default is 2.5 s, the maximum 40 s; the sidecar answers in milliseconds.
TOOL_TIMEOUT = "5s"
CALL_ID_PARAM = "screeningId"  # our call id (static)
ULTRAVOX_ID_PARAM = "ultravoxCallId"  # Ultravox's call id (automatic)
RECORD_ANSWER = "recordAnswer"
OPT_OUT = "candidateOptOut"
REQUEST_HUMAN = "requestHuman"
REQUEST_CALLBACK = "requestCallback"
RECORDING_CONSENT = "recordingConsent"  # offered only when the agent must ask (core.compliance)
TOOL_NAMES = (RECORD_ANSWER, OPT_OUT, REQUEST_HUMAN, REQUEST_CALLBACK, RECORDING_CONSENT)
_REQUIREMENT = "toolKey"


def call_key(secret: bytes, call_id: str) -> str:
    """The key of one call's tool requests: hex HMAC-SHA256(server key, our call id)."""
    return hmac.new(secret, call_id.encode("utf-8"), hashlib.sha256).hexdigest()


def key_matches(secret: bytes, call_id: str, given: str | None) -> bool:
    """True when `given` is this call's tool key (constant-time)."""
    return bool(given) and hmac.compare_digest(call_key(secret, call_id), str(given))


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "location": "PARAMETER_LOCATION_BODY", "required": True,
            "schema": {**schema, "description": description}}


def _tool(name: str, description: str, dynamic: list[dict[str, Any]], *, base_url: str,
          call_id: str, key: str, reaction: str) -> dict[str, Any]:
    return {
        "temporaryTool": {
            "modelToolName": name,
            "description": description,
            "dynamicParameters": dynamic,
            "staticParameters": [{"name": CALL_ID_PARAM, "location": "PARAMETER_LOCATION_BODY",
                                  "value": call_id}],
            "automaticParameters": [{"name": ULTRAVOX_ID_PARAM, "location": "PARAMETER_LOCATION_BODY",
                                     "knownValue": "KNOWN_PARAM_CALL_ID"}],
            "requirements": {"httpSecurityOptions": {"options": [
                {"requirements": {_REQUIREMENT: {"headerApiKey": {"name": TOOL_HEADER}}}}]}},
            "http": {"baseUrlPattern": f"{base_url.rstrip('/')}{TOOL_PATH}/{name}", "httpMethod": "POST"},
            "timeout": TOOL_TIMEOUT,
            "defaultReaction": reaction,
        },
        "authTokens": {_REQUIREMENT: key},
    }


def tool_definitions(*, base_url: str, call_id: str, key: str, question_count: int,
                     recording_consent: bool = False) -> list[dict[str, Any]]:
    """The `selectedTools` entries of one call's tools (with its key in `authTokens`)."""
    common = {"base_url": base_url, "call_id": call_id, "key": key}
    tools = []
    if recording_consent:
        tools.append(_tool(
            RECORDING_CONSENT, "Report whether the candidate agrees to this call being recorded, "
                               "right after asking them (just after the disclosure).",
            [_param("granted", "true if the candidate agrees to the recording, false if not or if "
                               "the answer is unclear.", {"type": "boolean"})],
            reaction="AGENT_REACTION_SPEAKS_ONCE", **common))
    if question_count:
        tools.append(_tool(
            RECORD_ANSWER,
            "Store the candidate's answer to one screening question, right after they answer it. "
            "Call it again for the same question if the candidate corrects an answer.",
            [_param("question", "The number of the screening question answered.",
                    {"type": "integer", "enum": list(range(1, question_count + 1))}),
             _param("answer_text", "The candidate's answer in one short sentence, in their words.",
                    {"type": "string"}),
             _param("value", "The answer as the question's type asks: yes or no; a number in "
                             "digits; one of the listed choices exactly; for an open question, "
                             "a few words.", {"type": "string"})],
            reaction="AGENT_REACTION_SPEAKS_ONCE", **common))
    tools.append(_tool(
        OPT_OUT, "The candidate asks not to be called again: record it before ending the call.",
        [_param("reason", "What the candidate said, in a few words.", {"type": "string"})],
        reaction="AGENT_REACTION_SPEAKS_ONCE", **common))
    tools.append(_tool(
        REQUEST_HUMAN, "The candidate asks for a person, an accommodation or another format: "
                       "record it, then close the call politely.",
        [_param("reason", "What the candidate asked for, in a few words.", {"type": "string"})],
        reaction="AGENT_REACTION_SPEAKS_ONCE", **common))
    tools.append(_tool(
        REQUEST_CALLBACK, "The candidate asks to be called back at another time: record when.",
        [_param("when", "The candidate's local date and time for the call back, ISO 8601 "
                        "without a zone, e.g. 2026-12-03T15:00.", {"type": "string"})],
        reaction="AGENT_REACTION_SPEAKS", **common))
    return tools


def without_auth_tokens(body: dict[str, Any]) -> dict[str, Any]:
    """The create-call body as it may be stored: every `authTokens` removed."""
    clean = copy.deepcopy(body)
    for tool in clean.get("selectedTools") or []:
        if isinstance(tool, dict):
            tool.pop("authTokens", None)
    return clean


def tool_rules() -> str:
    """The prompt's rules for the tools (a package resource, like the default prompt)."""
    return resources.files("core.screening").joinpath("tool_rules.md").read_text(encoding="utf-8").strip()
