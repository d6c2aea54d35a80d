"""What a call costs: AI minutes (Ultravox) and telephony (Twilio), estimated or actual."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core.config import Settings
from core.documents.call import Call
from core.documents.status import CallStatus

MICROS = 1_000_000
_MICRO = Decimal("0.000001")
AI_BLOCK_SECONDS = 6  # Ultravox bills per "deciminute", rounded up (reference §1.8)
TELEPHONY_BLOCK_SECONDS = 60  # Twilio voice is billed per started minute
BUDGET_WARNING_FRACTION = Decimal("0.8")

# Ultravox billing statuses that mean "no charge" (reference §1.3); BILLED uses billedDuration.
_FREE_BILLING = frozenset(
    {
        "BILLING_STATUS_FREE_CONSOLE",
        "BILLING_STATUS_FREE_ZERO_EFFECTIVE_DURATION",
        "BILLING_STATUS_FREE_MINUTES",
        "BILLING_STATUS_FREE_SYSTEM_ERROR",
        "BILLING_STATUS_FREE_OTHER",
        "BILLING_STATUS_REFUNDED",
    }
)
BILLED = "BILLING_STATUS_BILLED"
# Calls nobody picked up: Twilio does not charge them and the agent never spoke.
_UNCONNECTED = frozenset({CallStatus.NO_ANSWER, CallStatus.BUSY, CallStatus.FAILED, CallStatus.CANCELED})


def to_decimal(value: Any) -> Decimal:
    """A money or duration value as Decimal; floats go through str() so no binary noise leaks in."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, AttributeError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def to_micros(amount: Decimal | str | int) -> int:
    """An amount as integer micro-units, rounded half up (prices have at most 6 decimals)."""
    return int((to_decimal(amount) * MICROS).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_micros(micros: int) -> Decimal:
    """Integer micro-units back to a Decimal amount (exact)."""
    return (Decimal(int(micros)) / MICROS).quantize(_MICRO)


def money_str(amount: Decimal | int, *, micros: bool = False) -> str:
    """A plain decimal string without trailing zeros past the cents ("0.035", "1.50")."""
    value = from_micros(amount) if micros else to_decimal(amount).quantize(_MICRO)
    text = format(value.normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def money_text(amount: Decimal | int | None, currency: str, *, estimated: bool = False,
               micros: bool = False) -> str:
    """Money as every page and export writes it: "0.103 USD", an estimate "≈ 0.103 USD", none "—"."""
    if amount is None:
        return "—"
    text = f"{money_str(amount, micros=micros)} {currency}".strip()
    return f"≈ {text}" if estimated else text


def ai_billed_seconds(seconds: Any) -> int:
    """Seconds Ultravox bills for a duration: rounded up to whole 6-second blocks."""
    if seconds is None:
        return 0
    value = to_decimal(seconds)
    if value <= 0:
        return 0
    return math.ceil(value / AI_BLOCK_SECONDS) * AI_BLOCK_SECONDS


def ai_cost(seconds: Any, rate_per_minute: Decimal) -> Decimal:
    """AI cost of a billed duration: 6-second blocks (rounded up) × the per-minute rate."""
    return (Decimal(ai_billed_seconds(seconds)) * rate_per_minute / 60).quantize(_MICRO)


def telephony_estimate(seconds: Any, rate_per_minute: Decimal) -> Decimal:
    """Estimated telephony cost: started minutes × the destination's per-minute rate."""
    if seconds is None or to_decimal(seconds) <= 0:
        return Decimal(0).quantize(_MICRO)
    minutes = math.ceil(to_decimal(seconds) / TELEPHONY_BLOCK_SECONDS)
    return (minutes * rate_per_minute).quantize(_MICRO)


def parse_twilio_price(price: Any) -> Decimal | None:
    """Twilio's `price` (a negative string for a charge) as a positive cost, or None if unknown."""
    if price is None or (isinstance(price, str) and not price.strip()):
        return None
    return abs(to_decimal(price)).quantize(_MICRO)


def telephony_rate(settings: Settings, country: str | None) -> Decimal:
    """Per-minute telephony rate for a destination country (the table, else the default rate)."""
    table = {k.upper(): v for k, v in (settings.telephony_rates_per_minute or {}).items()}
    if country and country.upper() in table:
        return to_decimal(table[country.upper()])
    return settings.telephony_rate_per_minute


# What the cost functions read: a call as a mapping. Callers pass raw documents (often a
# projection), and a typed `Call` is read through its stored field names; a field that is
# absent and one that is null mean the same thing to every function here.
CallLike = Mapping[str, Any] | Call


def call_fields(call: CallLike) -> Mapping[str, Any]:
    """The call as a mapping of its stored field names (a typed `Call` is dumped, a mapping kept)."""
    if isinstance(call, Call):
        return call.model_dump(by_alias=True)
    return call


def _status(call: Mapping[str, Any]) -> CallStatus | None:
    try:
        return CallStatus(call.get("status"))
    except ValueError:
        return None


def _seconds_between(start: Any, end: Any) -> Decimal | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
        end = end if end.tzinfo else end.replace(tzinfo=UTC)
        return max(to_decimal((end - start).total_seconds()), Decimal(0))
    return None


def talk_seconds(call: CallLike) -> Decimal | None:
    """How long the line was up: Twilio's duration, else answered → ended, else None."""
    call = call_fields(call)
    if call.get("duration_seconds") is not None:
        return to_decimal(call["duration_seconds"])
    return _seconds_between(call.get("answered_at"), call.get("ended_at"))


def _ai_part(call: Mapping[str, Any], settings: Settings) -> tuple[Decimal, bool, int]:
    """(amount, estimated, billed seconds) of the Ultravox side."""
    rate = settings.ultravox_rate_per_minute
    billing = call.get("billing_status")
    if billing in _FREE_BILLING:
        return Decimal(0).quantize(_MICRO), False, 0
    if billing == BILLED and call.get("billed_duration_seconds") is not None:
        seconds = call["billed_duration_seconds"]
        return ai_cost(seconds, rate), False, ai_billed_seconds(seconds)
    # Not billed yet: the agent talks for about as long as the line is up once answered.
    if _status(call) in _UNCONNECTED:
        return Decimal(0).quantize(_MICRO), True, 0
    seconds = _seconds_between(call.get("joined_at"), call.get("ultravox_ended_at"))
    if seconds is None:
        seconds = talk_seconds(call)
    return ai_cost(seconds, rate), True, ai_billed_seconds(seconds)


def _telephony_part(
    call: Mapping[str, Any], settings: Settings
) -> tuple[Decimal, bool, dict[str, str] | None]:
    """(amount in our currency, estimated, foreign-currency price or None)."""
    price = parse_twilio_price(call.get("telephony_price"))
    unit = (call.get("price_unit") or settings.cost_currency).upper()
    if price is not None and unit == settings.cost_currency.upper():
        return price, False, None
    foreign = {"amount": money_str(price), "unit": unit} if price is not None else None
    if price is None and call.get("price_status") == "none":
        return Decimal(0).quantize(_MICRO), False, None  # Twilio charged nothing
    if _status(call) in _UNCONNECTED:
        return Decimal(0).quantize(_MICRO), True, foreign
    rate = telephony_rate(settings, destination_country(call, settings))
    return telephony_estimate(talk_seconds(call), rate), True, foreign


def destination_country(call: CallLike, settings: Settings) -> str:
    """ISO country of the dialled number (`destination_country` on the call, else the default)."""
    call = call_fields(call)
    return str(call.get("destination_country") or settings.default_phone_region).upper()


def call_costs(call: CallLike, settings: Settings) -> dict[str, Any]:
    """The call's cost figures, ready to store as its `costs` field (see the module docstring)."""
    call = call_fields(call)
    ai, ai_est, _ = _ai_part(call, settings)
    tel, tel_est, foreign = _telephony_part(call, settings)
    ai_m, tel_m = to_micros(ai), to_micros(tel)
    return {
        "currency": settings.cost_currency.upper(),
        "ai": money_str(ai_m, micros=True),
        "telephony": money_str(tel_m, micros=True),
        "total": money_str(ai_m + tel_m, micros=True),
        "ai_micros": ai_m,
        "telephony_micros": tel_m,
        "total_micros": ai_m + tel_m,
        "ai_estimated": ai_est,
        "telephony_estimated": tel_est,
        "telephony_country": destination_country(call, settings),
        "telephony_foreign": foreign,
    }


def ai_billed_seconds_of(call: CallLike, settings: Settings) -> int:
    """Billed (or, until billing, estimated) AI seconds of a call, in whole 6-second blocks."""
    return _ai_part(call_fields(call), settings)[2]


@dataclass(frozen=True)
class Totals:
    """Summed cost figures of several calls (micros; estimated parts kept apart)."""

    ai_estimated: int = 0
    ai_actual: int = 0
    telephony_estimated: int = 0
    telephony_actual: int = 0
    calls: int = 0

    @property
    def ai(self) -> int:
        """AI micros, estimated and actual."""
        return self.ai_estimated + self.ai_actual

    @property
    def telephony(self) -> int:
        """Telephony micros, estimated and actual."""
        return self.telephony_estimated + self.telephony_actual

    @property
    def total(self) -> int:
        """Everything, in micros."""
        return self.ai + self.telephony

    def add(self, costs: Mapping[str, Any]) -> Totals:
        """These totals plus one call's `costs`."""
        ai, tel = int(costs["ai_micros"]), int(costs["telephony_micros"])
        return Totals(
            ai_estimated=self.ai_estimated + (ai if costs["ai_estimated"] else 0),
            ai_actual=self.ai_actual + (0 if costs["ai_estimated"] else ai),
            telephony_estimated=self.telephony_estimated + (tel if costs["telephony_estimated"] else 0),
            telephony_actual=self.telephony_actual + (0 if costs["telephony_estimated"] else tel),
            calls=self.calls + 1,
        )


def total_of(costs_list: list[Mapping[str, Any]]) -> Totals:
    """Sum a list of `costs` dicts (e.g. a job's calls)."""
    totals = Totals()
    for costs in costs_list:
        totals = totals.add(costs)
    return totals
