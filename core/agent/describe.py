"""Settings values as sentences people read: no JSON, no enum codes (pure)."""

from __future__ import annotations

from typing import Any

from core.agent.hours_view import describe_hours
from core.agent.models import EndBehavior, OpeningMode
from core.agent.questions import QuestionType

OPENING_SENTENCES: dict[str, str] = {
    OpeningMode.USER_FIRST.value: "The candidate speaks first; the agent greets them if they stay silent",
    OpeningMode.AGENT_TEXT.value: "The agent speaks first with a fixed greeting",
    OpeningMode.AGENT_PROMPT.value: "The agent speaks first with a greeting it writes itself",
}
END_SENTENCES: dict[str, str] = {
    EndBehavior.KEEP_WAITING.value: "then keeps waiting",
    EndBehavior.HANG_UP_SOFT.value: "then hangs up unless they speak",
    EndBehavior.HANG_UP_STRICT.value: "then hangs up",
}


def describe_opening(value: dict[str, Any]) -> str:
    """How the call opens, in a sentence (who speaks first, the greeting, the wait)."""
    mode = str(value.get("mode", OpeningMode.USER_FIRST.value))
    lead = OPENING_SENTENCES.get(mode, "The call opens as configured")
    text = " ".join(str(value.get("text") or "").split())
    if mode == OpeningMode.USER_FIRST.value:
        wait = value.get("fallback_delay_seconds")
        detail = f" after {wait} s" if wait else ""
        sentence = f"{lead}{detail}: “{text}”" if text else lead
    elif mode == OpeningMode.AGENT_PROMPT.value:
        sentence = f"{lead}, following: “{text}”" if text else lead
    else:
        sentence = f"{lead}: “{text}”" if text else lead
    if value.get("uninterruptible"):
        sentence += " (the greeting cannot be interrupted)"
    return sentence + "."


def describe_retry(value: dict[str, Any]) -> str:
    """The retry policy in a sentence."""
    attempts = int(value.get("max_attempts") or 1)
    spacing = int(value.get("spacing_minutes") or 0)
    if spacing % 1440 == 0 and spacing:
        gap = f"{spacing // 1440} day{'s' if spacing != 1440 else ''}"
    elif spacing % 60 == 0 and spacing:
        gap = f"{spacing // 60} hour{'s' if spacing != 60 else ''}"
    else:
        gap = f"{spacing} minutes"
    if attempts == 1:
        head = "One attempt, no retries"
    else:
        head = f"Up to {attempts} attempts (the first call included), {gap} apart"
    vm = ("retries after leaving a voicemail" if value.get("retry_after_voicemail")
          else "no retry once a voicemail was left")
    return f"{head}; {vm}." if attempts > 1 else f"{head}."


def describe_inactivity(value: dict[str, Any]) -> str:
    """One inactivity message in a sentence."""
    end = END_SENTENCES.get(str(value.get("end_behavior")), "")
    message = " ".join(str(value.get("message") or "").split())
    return f"After {value.get('duration_seconds')} s of silence: “{message}”" + (f", {end}." if end else ".")


def describe_question(value: Any) -> str:
    """One screening question as its text (a plain string is a question too)."""
    if isinstance(value, dict):
        return " ".join(str(value.get("text") or "").split())
    return " ".join(str(value).split())


def describe_structured(name: str, value: Any) -> str | None:
    """A sentence for the structured settings (hours, retries, opening, lists); None otherwise."""
    if name == "calling_hours" and isinstance(value, dict):
        return describe_hours(value)
    if name == "retry_policy" and isinstance(value, dict):
        return describe_retry(value)
    if name == "opening" and isinstance(value, dict):
        return describe_opening(value)
    if name == "screening_questions" and isinstance(value, list):
        n = len(value)
        return "No questions." if not n else f"{n} question{'s' if n != 1 else ''}."
    if name == "inactivity_messages" and isinstance(value, list):
        n = len(value)
        return "None." if not n else f"{n} message{'s' if n != 1 else ''}."
    return None


def _key(item: Any, index: int) -> str:
    if isinstance(item, dict) and item.get("id"):
        return str(item["id"])
    return f"#{index}"


def list_item_changes(name: str, old: list[Any] | None, new: list[Any] | None) -> list[tuple[str, str, str]]:
    """One (label, before, after) row per changed list item; questions are matched by id."""
    old, new = list(old or []), list(new or [])
    noun = "Screening question" if name == "screening_questions" else "Inactivity message"
    text = describe_question if name == "screening_questions" else describe_inactivity
    old_by = {_key(item, i): item for i, item in enumerate(old)}
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(new):
        k = _key(item, i)
        seen.add(k)
        before = old_by.get(k)
        if before is None:
            rows.append((f"{noun} {i + 1} (added)", "—", text(item)))
        elif before != item:
            if text(before) == text(item) and isinstance(item, dict) and isinstance(before, dict):
                # Same wording, other details changed: show those details, not the text twice.
                keys = _changed_keys(before, item)
                parts = ", ".join(_PART_NAMES.get(k, k.replace("_", " ")) for k in keys)
                rows.append((f"{noun} {i + 1} ({parts} changed)", _parts(before, keys), _parts(item, keys)))
            else:
                rows.append((f"{noun} {i + 1}", text(before), text(item)))
    for i, item in enumerate(old):
        if _key(item, i) not in seen:
            rows.append((f"{noun} {i + 1} (removed)", text(item), "—"))
    return rows


_PART_NAMES = {"type": "type of answer", "options": "choices", "unit": "unit",
               "min_value": "smallest number", "max_value": "largest number", "knockout": "knock-out rule",
               "guidance": "guidance", "reviewer_guidance": "guidance for reviewers",
               "duration_seconds": "silence", "end_behavior": "what happens next"}


def _changed_keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k) and k != "id"]


def _part_value(key: str, value: Any) -> str:
    if value in (None, "", [], {}):
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "type" and value in {t.value for t in QuestionType}:
        return QuestionType(value).label
    if key == "end_behavior":
        return END_SENTENCES.get(str(value), str(value)).removeprefix("then ")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k.replace('_', ' ')} {_part_value(k, v)}" for k, v in value.items()
                         if v not in (None, [], ""))
    return " ".join(str(value).split())


def _parts(item: dict[str, Any], keys: list[str]) -> str:
    return "; ".join(f"{_PART_NAMES.get(k, k.replace('_', ' '))}: {_part_value(k, item.get(k))}"
                     for k in keys)
