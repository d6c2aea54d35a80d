"""A job's effective settings: the global ones overridden field by field (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from core import audit
from core.agent.describe import describe_question, describe_structured, list_item_changes
from core.agent.models import (
    CONFIG_FIELDS,
    JOB_FIELDS,
    GlobalVoiceConfig,
    JobVoiceConfig,
)
from core.agent.validation import FIELD_LABELS, _friendly

# ---------------------------------------------------------------------------------------
# Merge: global + job overrides
# ---------------------------------------------------------------------------------------


def overrides_of(job_cfg: BaseModel | None) -> dict[str, Any]:
    """The job's set fields as plain JSON-ready values (None fields are inherited, left out)."""
    if job_cfg is None:
        return {}
    return job_cfg.model_dump(mode="json", exclude_none=True)


def overridden_fields(job_cfg: BaseModel | None) -> list[str]:
    """Names of the fields a job overrides, in the settings' order."""
    if job_cfg is None:
        return []
    return [name for name in JOB_FIELDS if getattr(job_cfg, name, None) is not None]


# Limits the admin sets for the whole organisation: a job may lower them, never raise them.
# (A job's monthly budget is a cap on that job's own spend inside the global budget.)
CAPPED_FIELDS: tuple[str, ...] = ("max_concurrent_calls", "calls_per_second", "monthly_budget")


def cap_problems(global_cfg: GlobalVoiceConfig, job_cfg: BaseModel | None) -> list[str]:
    """Why a job's overrides may not be saved: a limit above the global one (never clamped)."""
    problems = []
    for name in CAPPED_FIELDS:
        value = getattr(job_cfg, name, None) if job_cfg is not None else None
        limit = getattr(global_cfg, name)
        if value is not None and value > limit:
            problems.append(f"{FIELD_LABELS[name]} can be at most {limit:g} for a job: that is the "
                            f"global limit, which a job may lower but not raise (you entered {value:g}).")
    return problems


def effective_config(global_cfg: GlobalVoiceConfig, job_cfg: BaseModel | None) -> GlobalVoiceConfig:
    """The config a job's calls use: global, overridden field by field by the job's set fields.

    The global limits stay ceilings even for an override saved before the global one was
    lowered: the job gets the smaller of the two.
    """
    if job_cfg is None or not overridden_fields(job_cfg):
        return global_cfg
    merged = global_cfg.model_dump()
    merged.update({name: getattr(job_cfg, name) for name in overridden_fields(job_cfg)})
    for name in CAPPED_FIELDS:
        merged[name] = min(merged[name], getattr(global_cfg, name))
    try:
        # Re-validated: the only cross-field rule (recording needs a disclosure) may combine
        # a job's value with a global one.
        return GlobalVoiceConfig.model_validate(
            {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in merged.items()}
        )
    except ValidationError as exc:
        raise _friendly(exc) from None


def reset_field(job_cfg: BaseModel | None, name: str) -> BaseModel:
    """The job's overrides without `name` (that field inherits the global value again)."""
    if name not in JOB_FIELDS:
        raise ValueError(f"'{name}' is not a setting a job can override.")
    kept = {k: getattr(job_cfg, k) for k in overridden_fields(job_cfg) if k != name}
    return JobVoiceConfig.model_validate(
        {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in kept.items()}
    )


def as_plain(cfg: BaseModel) -> dict[str, Any]:
    """A config as JSON-ready values (what is stored and compared)."""
    return cfg.model_dump(mode="json")


def field_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Changed fields between two plain configs, {field: {"old", "new"}}, in settings order."""
    changes = audit.diff(old, new)
    order = {name: i for i, name in enumerate(CONFIG_FIELDS)}
    return dict(sorted(changes.items(), key=lambda kv: order.get(kv[0], len(order))))


def _shape(value: Any) -> str | None:
    # The structured settings are recognised by their keys when the field name is not known.
    if isinstance(value, dict):
        for key, name in (("windows", "calling_hours"), ("max_attempts", "retry_policy"),
                          ("mode", "opening")):
            if key in value:
                return name
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return "inactivity_messages" if "message" in value[0] else "screening_questions"
    return None


def describe_value(value: Any, limit: int = 160, name: str | None = None) -> str:
    """A short human-readable rendering of a field value (for marks, history and diffs)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    structured = describe_structured(name or _shape(value) or "", value)
    if structured is not None:
        text = structured
    elif isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = "; ".join(describe_question(v) for v in value) or "none"
    elif isinstance(value, dict):
        text = "; ".join(f"{k.replace('_', ' ')}: {describe_value(v, limit)}" for k, v in value.items())
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class ChangeLine:
    """One changed setting as shown to people: its label, and the old and new values as text."""

    setting: str
    before: str
    after: str


def change_lines(changes: Mapping[str, Mapping[str, Any]]) -> list[ChangeLine]:
    """Field changes in the audit shape ({field: {"old", "new"}}) as readable lines, in order.

    Lists (screening questions, inactivity messages) give one line per changed item.
    """
    lines: list[ChangeLine] = []
    for name, change in changes.items():
        old, new = change.get("old"), change.get("new")
        if name in ("screening_questions", "inactivity_messages") and isinstance(old or [], list) \
                and isinstance(new or [], list):
            rows = list_item_changes(name, old, new)
            lines += [ChangeLine(label, before, after) for label, before, after in rows]
            if rows:
                continue
        lines.append(ChangeLine(FIELD_LABELS.get(name, name), describe_value(old, name=name),
                                describe_value(new, name=name)))
    return lines
