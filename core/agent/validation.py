"""Validation of voice settings with messages a recruiter understands."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from core.agent.models import (
    GlobalVoiceConfig,
    JobVoiceConfig,
    VoiceInfo,
)
from core.agent.prompts import PROMPT_PLACEHOLDERS, SPOKEN_PLACEHOLDERS, template_problems
from core.errors import UserError

# ---------------------------------------------------------------------------------------
# Validation with messages a recruiter understands
# ---------------------------------------------------------------------------------------

FIELD_LABELS: dict[str, str] = {
    "model": "Model",
    "voice": "Voice",
    "language_hint": "Language",
    "temperature": "Temperature",
    "company_name": "Company name",
    "system_prompt": "System prompt",
    "opening": "Call opening",
    "screening_questions": "Screening questions",
    "recording_enabled": "Recording",
    "recording_disclosure": "Recording disclosure",
    "voicemail_message": "Voicemail message",
    "max_duration_minutes": "Maximum call length (minutes)",
    "time_exceeded_message": "Time-exceeded message",
    "inactivity_messages": "Inactivity messages",
    "require_consent": "Require candidate consent",
    "calling_hours": "Calling hours",
    "retry_policy": "Retry policy",
    "max_concurrent_calls": "Maximum concurrent calls",
    "calls_per_second": "Calls per second",
    "monthly_budget": "Monthly budget (USD)",
    "recording_retention_days": "Keep recordings after the job closes (days)",
    "transcript_retention_days": "Keep transcripts after the job closes (days)",
    "organisation_zone": "Organisation time zone",
    "disclosure_phrases": "Disclosure key phrases",
    "all_party_consent_places": "Places where every party must agree to a recording",
    "recording_consent_scope": "Ask for consent to the recording",
    "recording_consent_method": "How consent to the recording is handled",
    "transcript_without_recording": "Keep the transcript when the recording is refused",
}
_SUB_LABELS = {
    "text": "text", "guidance": "guidance", "mode": "who speaks first",
    "type": "type of answer", "options": "choices", "unit": "unit", "min_value": "smallest number",
    "max_value": "largest number", "knockout": "knock-out rule",
    "reviewer_guidance": "guidance for reviewers", "id": "id",
    "fallback_delay_seconds": "seconds before the fallback greeting",
    "duration_seconds": "seconds of silence", "message": "message", "end_behavior": "what happens next",
    "max_attempts": "attempts", "spacing_minutes": "minutes between attempts",
    "start": "start", "end": "end",
}
_DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
              "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}


_DISCLOSURE_MESSAGE = (
    "Recording is on, so the call must open with a disclosure sentence saying it is an AI "
    "assistant and that the call is recorded. Write one, or turn recording off."
)

_DISCLOSURE_KEPT_MESSAGE = (
    "Keep a recording disclosure sentence even with recording off: a job can turn recording "
    "on, and its calls then say this sentence."
)


class ConfigValidationError(UserError, ValueError):
    """The configuration cannot be saved; `messages` lists each problem in plain words."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = list(dict.fromkeys(messages))
        super().__init__(" ".join(self.messages))


class ConfigConflict(UserError, RuntimeError):
    """Someone saved these settings after they were loaded; reload before saving again."""


def _label(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "Settings"
    head, rest = str(loc[0]), loc[1:]
    label = FIELD_LABELS.get(head, head.replace("_", " ").capitalize())
    if head in ("screening_questions", "inactivity_messages") and rest and isinstance(rest[0], int):
        noun = "Screening question" if head == "screening_questions" else "Inactivity message"
        label = f"{noun} {rest[0] + 1}"
        rest = rest[1:]
    elif head == "calling_hours" and len(rest) >= 2:
        label = f"Calling hours on {_DAY_NAMES.get(str(rest[1]), rest[1])}"
        rest = ()
    parts = [_SUB_LABELS.get(str(p), str(p)) for p in rest if not isinstance(p, int)]
    return f"{label} ({', '.join(parts)})" if parts else label


def _message(err: dict[str, Any]) -> str:
    label, kind, ctx = _label(tuple(err.get("loc", ()))), err.get("type", ""), err.get("ctx") or {}
    if kind == "value_error" and "recording_disclosure_required" in str(ctx.get("error", "")):
        return _DISCLOSURE_MESSAGE
    if kind == "value_error" and "recording_disclosure_kept" in str(ctx.get("error", "")):
        return _DISCLOSURE_KEPT_MESSAGE
    if kind == "value_error":
        return f"{label}: {str(ctx.get('error', err.get('msg', '')))}."
    messages = {
        "greater_than_equal": f"{label} must be at least {ctx.get('ge')}.",
        "less_than_equal": f"{label} must be at most {ctx.get('le')}.",
        "greater_than": f"{label} must be more than {ctx.get('gt')}.",
        "less_than": f"{label} must be less than {ctx.get('lt')}.",
        "string_too_short": f"{label} cannot be empty.",
        "string_too_long": f"{label} is too long (at most {ctx.get('max_length')} characters).",
        "too_long": f"{label}: at most {ctx.get('max_length')} allowed.",
        "missing": f"{label} is required.",
        "extra_forbidden": f"'{label}' is not a setting.",
        "enum": f"{label} must be one of: {ctx.get('expected')}.",
        "decimal_max_places": f"{label} can have at most 2 decimals.",
    }
    if kind in messages:
        return messages[kind]
    if kind.endswith("_parsing") or kind.endswith("_type"):
        return f"{label} is not a valid value."
    return f"{label}: {err.get('msg')}."


def _friendly(exc: ValidationError) -> ConfigValidationError:
    return ConfigValidationError([_message(e) for e in exc.errors()])


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _template_fields(data: dict[str, Any]) -> list[tuple[str, str, str, frozenset[str]]]:
    # (field, label, text, allowed placeholders) for every text the agent uses, from plain (possibly
    # not yet valid) data, so template problems are reported together with range problems.
    out: list[tuple[str, str, str, frozenset[str]]] = []
    if _text(data.get("system_prompt")):
        out.append(("system_prompt", "The system prompt", data["system_prompt"], PROMPT_PLACEHOLDERS))
    for name in ("recording_disclosure", "voicemail_message", "time_exceeded_message", "company_name"):
        if _text(data.get(name)):
            allowed = frozenset() if name == "company_name" else SPOKEN_PLACEHOLDERS
            out.append((name, f"The {FIELD_LABELS[name].lower()}", data[name], allowed))
    opening = data.get("opening")
    if isinstance(opening, dict) and _text(opening.get("text")):
        out.append(("opening", "The opening greeting", opening["text"], SPOKEN_PLACEHOLDERS))
    for i, q in enumerate(data.get("screening_questions") or []):
        if isinstance(q, dict):
            for key, where in (("text", f"Screening question {i + 1}"),
                               ("guidance", f"The guidance of question {i + 1}")):
                if _text(q.get(key)):
                    out.append(("screening_questions", where, q[key], SPOKEN_PLACEHOLDERS))
    for i, m in enumerate(data.get("inactivity_messages") or []):
        if isinstance(m, dict) and _text(m.get("message")):
            out.append(("inactivity_messages", f"Inactivity message {i + 1}", m["message"],
                        SPOKEN_PLACEHOLDERS))
    return out


def _plain_input(data: BaseModel | dict[str, Any]) -> dict[str, Any]:
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json", exclude_none=True)
    return {k: v.model_dump(mode="json") if isinstance(v, BaseModel) else v for k, v in data.items()}


def _rule_problems(raw: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for _name, where, text, allowed in _template_fields(raw):
        problems += template_problems(text, allowed, where)
    return problems


def _validate(model: type[BaseModel], data: BaseModel | dict[str, Any]) -> BaseModel:
    raw = _plain_input(data)
    problems: list[str] = []
    cfg = None
    try:
        cfg = model.model_validate(raw)
    except ValidationError as exc:
        problems += _friendly(exc).messages
        # A field error stops pydantic before the cross-field rule; report that one too.
        if model is GlobalVoiceConfig and not str(raw.get("recording_disclosure") or "").strip():
            problems.append(_DISCLOSURE_MESSAGE if raw.get("recording_enabled") is not False
                            else _DISCLOSURE_KEPT_MESSAGE)
    problems += _rule_problems(raw)
    if problems or cfg is None:
        raise ConfigValidationError(problems)
    return cfg


def validate_global(data: GlobalVoiceConfig | dict[str, Any]) -> GlobalVoiceConfig:
    """A valid global config from a dict or model, else ConfigValidationError with every problem."""
    return _validate(GlobalVoiceConfig, data)  # type: ignore[return-value]


def validate_job(data: BaseModel | dict[str, Any]) -> BaseModel:
    """Valid job overrides (a JobVoiceConfig) from a dict or model, else ConfigValidationError."""
    return _validate(JobVoiceConfig, data)


def problems_by_field(data: dict[str, Any], *, job: bool = False) -> dict[str, list[str]]:
    """Each setting's problems in plain words, keyed by field name (to show them at the field)."""
    raw = _plain_input(data)
    out: dict[str, list[str]] = {}
    try:
        (JobVoiceConfig if job else GlobalVoiceConfig).model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = err.get("loc") or ()
            message = _message(err)
            # The cross-field rule has no field of its own: it is fixed in the disclosure.
            name = ("recording_disclosure" if message in (_DISCLOSURE_MESSAGE, _DISCLOSURE_KEPT_MESSAGE)
                    else str(loc[0]) if loc else "")
            out.setdefault(name, []).append(message)
        if not job and not str(raw.get("recording_disclosure") or "").strip():
            out.setdefault("recording_disclosure", []).append(
                _DISCLOSURE_MESSAGE if raw.get("recording_enabled") is not False
                else _DISCLOSURE_KEPT_MESSAGE)
    for name, where, text, allowed in _template_fields(raw):
        out.setdefault(name, []).extend(template_problems(text, allowed, where))
    return {name: list(dict.fromkeys(msgs)) for name, msgs in out.items() if msgs}


def voice_problems(voice: str, voices: list[VoiceInfo] | None) -> list[str]:
    """A message if `voice` is not in the voice library (no check when the library is unknown)."""
    if voices is None or any(v.matches(voice) for v in voices):
        return []
    return [f"The voice “{voice}” is not in the Ultravox voice library any more. "
            "Pick another one (the Voices page lists them)."]
