"""What one call adds to the usage rollups: its counters, as a pure function of the call."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.config import Settings
from core.documents.call import Call
from core.documents.status import TERMINAL_STATUSES, CallStatus
from core.usage import costs as costmod
from core.usage.period import day_key

TERMINAL = frozenset(s.value for s in TERMINAL_STATUSES)
OUTCOMES: tuple[str, ...] = tuple(s.value for s in CallStatus if s in TERMINAL_STATUSES)
# Review decisions that count as "advanced to the next round".
ADVANCED_DECISIONS = frozenset({"advance", "advanced"})
# A completed call shorter than this is an early hang-up: the candidate left before screening.
EARLY_HANGUP_SECONDS = 30
# Fixed counters (summed server-side with $group); outcome and end-reason counters are added.
COUNTERS: tuple[str, ...] = (
    "calls",
    "answered",
    "seconds",
    "answered_seconds",
    "ai_seconds",
    "ai_est",
    "ai_act",
    "tel_est",
    "tel_act",
    "advanced",
    "early_hangups",
    "foreign_priced",
    "waste_unanswered",
    "waste_voicemail",
    "waste_early_hangup",
    "test_calls",
    "test_cost",
    *(f"out_{o}" for o in OUTCOMES),
)
MONEY_COUNTERS = ("ai_est", "ai_act", "tel_est", "tel_act")
WASTE_COUNTERS = ("waste_unanswered", "waste_voicemail", "waste_early_hangup")
END_REASON_PREFIX = "er_"


def day_of(call: Mapping[str, Any] | Call, zone: str) -> str | None:
    """The day a call counts under in the organisation's `zone` ("YYYY-MM-DD", from its
    `created_at`), or None."""
    created = costmod.call_fields(call).get("created_at")
    return day_key(created, zone) if isinstance(created, datetime) else None


def reason_key(reason: Any) -> str:
    """The counter name of an end reason ("er_<reason>", safe as a field name)."""
    # Keys become field names: nothing that MongoDB reads as a path or operator.
    text = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in str(reason or "none"))
    return f"{END_REASON_PREFIX}{text[:40] or 'none'}"


def contribution(
    call: Mapping[str, Any] | Call, settings: Settings
) -> tuple[dict[str, int], dict[str, Any]]:
    """(the call's counters — empty until it ends —, its `costs` figures)."""
    call = costmod.call_fields(call)
    costs = costmod.call_costs(call, settings)
    status = call.get("status")
    if status not in TERMINAL or not isinstance(call.get("created_at"), datetime):
        return {}, costs
    talk = costmod.talk_seconds(call)
    seconds = int(talk) if talk is not None else 0
    ai_m, tel_m = costs["ai_micros"], costs["telephony_micros"]
    c: Counter[str] = Counter()
    if call.get("test_call"):
        # A team member's test call is no screening (no call, outcome or minutes counted), but
        # it was paid for: its money counts, so spend and the budget see it.
        c["test_calls"] = 1
        c["test_cost"] = ai_m + tel_m  # kept apart from the cost per screening
        c["ai_est" if costs["ai_estimated"] else "ai_act"] = ai_m
        c["tel_est" if costs["telephony_estimated"] else "tel_act"] = tel_m
        return {k: int(v) for k, v in c.items() if v}, costs
    c["calls"] = 1
    c[f"out_{status}"] = 1
    c["seconds"] = seconds
    c["ai_seconds"] = costmod.ai_billed_seconds_of(call, settings)
    c["ai_est" if costs["ai_estimated"] else "ai_act"] = ai_m
    c["tel_est" if costs["telephony_estimated"] else "tel_act"] = tel_m
    if status == CallStatus.COMPLETED:
        c["answered"] = 1
        c["answered_seconds"] = seconds
        if seconds < EARLY_HANGUP_SECONDS:
            c["early_hangups"] = 1
            c["waste_early_hangup"] = ai_m + tel_m
    elif status == CallStatus.VOICEMAIL:
        c["waste_voicemail"] = ai_m + tel_m
    else:
        c["waste_unanswered"] = ai_m + tel_m
    if call.get("end_reason"):
        c[reason_key(call["end_reason"])] = 1
    if ((call.get("review") or {}).get("decision") or "") in ADVANCED_DECISIONS:
        c["advanced"] = 1
    if costs["telephony_foreign"]:
        c["foreign_priced"] = 1
    # Zeros are dropped so equal states compare equal and documents stay small.
    return {k: int(v) for k, v in c.items() if v}, costs


def delta(new: Mapping[str, int], old: Mapping[str, int]) -> dict[str, int]:
    """What to add to the rollups to move a call's counters from `old` to `new` (zeros dropped)."""
    moved = {k: new.get(k, 0) - old.get(k, 0) for k in set(new) | set(old)}
    return {k: v for k, v in moved.items() if v}


def money_micros(counters: Mapping[str, Any]) -> int:
    """Everything summed counters cost (AI and telephony, estimated and actual), in micros."""
    return sum(int(counters.get(k, 0)) for k in MONEY_COUNTERS)
