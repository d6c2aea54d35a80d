"""The compliance record of a call: what applied when it was dialled, and the after-call check of
the AI and recording disclosure. Pure functions over the call, the candidate and the call's own
settings snapshot, so the record says what the call was placed under, never today's settings."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from core.agent.hours_view import describe_hours
from core.agent.models import CallingHours
from core.calling import hours as calling_hours
from core.documents.call import Call
from core.documents.candidate import Candidate
from core.lifecycle.opt_out import detect_opt_out
from core.people.places import needs_all_party_consent, place_of
from core.screening import tools
from core.screening.voicemail import LEAVE_VOICEMAIL

FIRST_TURNS = 2  # the disclosure must be said in the agent's first two turns
# The tool behind each moment the record names (an opt-out may also be said in words).
_MOMENT_TOOLS = {tools.OPT_OUT: "opt_out", tools.REQUEST_HUMAN: "human",
                 tools.REQUEST_CALLBACK: "callback", LEAVE_VOICEMAIL: "voicemail"}


def record_at_dial(call: Call, candidate: Candidate | None, phone: str | None,
                   config: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The record stored on the call in the step that keeps its settings snapshot."""
    hours = config.get("calling_hours") or {}
    region = candidate.region if candidate else None
    zone = (candidate.timezone if candidate else None) or None
    window = calling_hours.check(CallingHours.model_validate(hours) if hours else CallingHours(),
                                 now=now, candidate_timezone=zone, phone=phone)
    place = place_of(region, phone)
    retry = config.get("retry_policy") or {}
    first = window.zones[0] if window.zones else None
    return {
        "recorded_at": now,
        "zone": ", ".join(window.zones) if window.zones else None,
        "zones": list(window.zones),
        "zone_source": window.zone_source,
        "local_time": window.local_times.get(first) if first else None,
        "window": describe_hours(hours) if hours else None,
        "window_verdict": window.reason,
        "released_by": call.released_by,
        "scheduled_by": call.scheduled_by,
        "consent": candidate.consent if candidate else None,
        "consent_source": candidate.consent_source if candidate else None,
        "consent_at": candidate.consent_at if candidate else None,
        "consent_by": candidate.consent_by if candidate else None,
        "place": place.code,
        "place_source": place.source,
        "all_party_consent": needs_all_party_consent(
            place, list(config.get("all_party_consent_places") or [])),
        "recording": config.get("recording_enabled"),
        "attempt": call.attempt,
        "max_attempts": call.max_attempts or retry.get("max_attempts"),
        "spacing_minutes": retry.get("spacing_minutes"),
        "retry_after_voicemail": retry.get("retry_after_voicemail"),
    }


def _pattern(phrase: str) -> re.Pattern[str]:
    # Whole words, any case, any spacing: "AI" is found in "I'm an AI assistant", not in "said".
    words = r"\s+".join(re.escape(w) for w in phrase.split())
    start = r"\b" if re.match(r"\w", phrase) else ""
    end = r"\b" if re.search(r"\w$", phrase) else ""
    return re.compile(start + words + end, re.IGNORECASE)


def check_disclosure(messages: list[dict[str, Any]], phrases: list[str]) -> dict[str, Any]:
    """Did every key phrase appear in the agent's first two turns (case-insensitive)? With the
    second the turn that completed it started at. `found` is None when there is nothing to judge:
    no phrases set, or the agent never spoke (a call nobody answered is not a missed disclosure)."""
    wanted = [p.strip() for p in phrases if p and p.strip()]
    turns = [m for m in messages if m.get("role") == "agent" and str(m.get("text") or "").strip()]
    if not turns:
        return {"phrases": wanted, "found": None, "missing": [], "at_seconds": None}
    missing = list(wanted)
    at: float | None = None
    for turn in turns[:FIRST_TURNS]:
        said = [p for p in missing if _pattern(p).search(str(turn.get("text") or ""))]
        if said:
            missing = [p for p in missing if p not in said]
            if not missing:
                at = turn.get("start_s")
                break
    return {"phrases": wanted, "found": (not missing) if wanted else None, "missing": missing,
            "at_seconds": at if wanted and not missing else None}


def moments(messages: list[dict[str, Any]]) -> dict[str, float]:
    """When the candidate opted out, asked for a person or a call-back, and when the voicemail
    was left: the first such tool call's second (an opt-out said in words counts too)."""
    found: dict[str, float] = {}
    for m in messages:
        start = m.get("start_s")
        if start is None:
            continue
        if m.get("role") == "tool_call" and m.get("tool") in _MOMENT_TOOLS:
            found.setdefault(_MOMENT_TOOLS[m["tool"]], float(start))
        elif m.get("role") == "user" and "opt_out" not in found and detect_opt_out([m]):
            found["opt_out"] = float(start)
    return found


def after_call(call: Call, messages: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The disclosure verdict and the moments, stored with the transcript (the phrases are the
    call's own snapshot of the setting)."""
    phrases = call.snapshot_config.get("disclosure_phrases")
    if phrases is None:  # placed before the setting existed: the default list
        phrases = ["AI", "recorded"]
    return {**check_disclosure(messages, list(phrases)), "moments": moments(messages), "checked_at": now}
