"""Twilio through its SDK (pointed at the sandbox in sandbox mode): place, end, fetch calls."""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.twiml.voice_response import Connect, VoiceResponse

from core.config import get_settings
from core.people.phones import normalize_phone
from core.providers.resilience import (
    CircuitBreaker,
    ProviderError,
    RetryPolicy,
    TransientError,
    parse_retry_after,
    run_with_retries,
    transport_errors,
)

log = logging.getLogger(__name__)

PROVIDER = "Twilio"
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
STATUS_CALLBACK_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Twilio's hard stop (TimeLimit) sits this far above Ultravox's maxDuration, so the agent's own
# goodbye comes first; the budget counts a call's telephony up to this stop.
TIME_LIMIT_SLACK_SECONDS = 60
# Twilio queues REST calls at 1 call/second per account and AMD takes seconds before the
# stream connects; all of it counts against Ultravox's joinTimeout (providers.md section 3).
_JOIN_SLACK_SECONDS = 45

# The SDK logs request parameters (phone numbers) at DEBUG; keep its logger quiet.
_twilio_log = logging.getLogger("twilio.http_client")
_twilio_log.setLevel(logging.WARNING)


def join_timeout_for(ring_timeout: int) -> str:
    """Ultravox `joinTimeout` covering Twilio's ring time (+ its ~5 s extra) and queueing slack."""
    return f"{int(ring_timeout) + _JOIN_SLACK_SECONDS}s"


def build_twiml(join_url: str) -> str:
    """`<Response><Connect><Stream url=.../></Connect></Response>`, nothing after `</Connect>`."""
    response = VoiceResponse()
    connect = Connect()
    connect.stream(url=join_url)
    response.append(connect)
    # The SDK escapes the URL; it writes empty elements as `<Stream ... />`, and our
    # contract is the compact `<Stream .../>` form (same XML, byte-exact for comparisons).
    return response.to_xml(xml_declaration=False).replace(" />", "/>")


@dataclass(frozen=True)
class TwilioCall:
    """What we read back from Twilio's Call resource."""

    sid: str
    status: str | None
    price: Decimal | None  # Twilio reports a charge as a negative amount; this is as given
    price_unit: str | None
    duration: int | None
    answered_by: str | None = None
    date_created: datetime | None = None


class _QuietHttpClient(TwilioHttpClient):
    """The SDK's HTTP client, remembering Retry-After of the last answer per thread."""

    def __init__(self, timeout: float) -> None:
        super().__init__(timeout=timeout, logger=_twilio_log)
        self._local = threading.local()

    def request(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        self._local.retry_after = None
        response = super().request(*args, **kwargs)
        headers = response.headers or {}
        self._local.retry_after = parse_retry_after(headers.get("Retry-After"))
        return response

    @property
    def last_retry_after(self) -> float | None:
        """Retry-After (seconds) of this thread's last answer."""
        return getattr(self._local, "retry_after", None)


class TwilioGateway:
    """Places, ends and reads Twilio calls through the official SDK."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        from_number: str,
        *,
        base_url: str | None = None,
        webhook_base_url: str = "http://127.0.0.1:8001",
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        default_ring_timeout: int = 45,
    ) -> None:
        self._http = _QuietHttpClient(timeout=timeout)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        if base_url:
            # The sandbox speaks Twilio's paths; the SDK joins base_url + path at request time.
            self._client.api.base_url = base_url.rstrip("/")
        self.from_number = from_number
        self.status_callback_url = webhook_base_url.rstrip("/") + STATUS_CALLBACK_PATH
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(PROVIDER)
        self.default_ring_timeout = default_ring_timeout

    def _attempt(self, fn: Any) -> Any:
        """Run one SDK call, turning its failures into TransientError / ProviderError."""
        try:
            with transport_errors():
                return fn()
        except TwilioRestException as exc:
            status = int(exc.status or 0)
            if status == 429:
                raise TransientError("rate limited (HTTP 429)", ambiguous=False,
                                     retry_after=self._http.last_retry_after) from exc
            if status >= 500:
                raise TransientError(f"HTTP {status}", ambiguous=True,
                                     retry_after=self._http.last_retry_after) from exc
            code = _error_code(exc.code)
            # Twilio's own text often quotes the dialled number: only the code travels on.
            log.info("Twilio refused a request: HTTP %s, error %s", status, code)
            raise ProviderError(PROVIDER, status, refusal_text(code, status), code=code) from exc

    def status_callback_for(self, call_id: str | None) -> str:
        """Our status-callback URL, carrying our call id (Twilio signs the whole URL)."""
        if not call_id:
            return self.status_callback_url
        return f"{self.status_callback_url}?{urlencode({'call': call_id})}"

    def place_call(
        self,
        to: str,
        join_url: str,
        *,
        time_limit_seconds: int,
        ring_timeout: int | None = None,
        machine_detection: bool = True,
        call_id: str | None = None,
    ) -> str:
        """Dial `to` and bridge it to the Ultravox `join_url`; returns the CallSid.

        The number is validated before any request. Only failures Twilio certainly did not
        act on (429, refused connection) are retried: Twilio has no idempotency key, so a
        timed-out create is reported (ProviderUnavailable with `ambiguous`), not repeated.
        `call_id` goes into the status-callback URL, so every callback names our call even
        when the create's answer was lost.
        """
        number = normalize_phone(to)
        if not join_url.startswith("wss://"):
            raise ValueError("The Ultravox joinUrl must be a wss:// URL.")
        kwargs: dict[str, Any] = {
            "to": number,
            "from_": self.from_number,
            "twiml": build_twiml(join_url),
            "status_callback": self.status_callback_for(call_id),
            "status_callback_event": STATUS_CALLBACK_EVENTS,
            "status_callback_method": "POST",
            "timeout": int(ring_timeout or self.default_ring_timeout),
            "time_limit": int(time_limit_seconds),
        }
        if machine_detection:
            # Sync AMD: AnsweredBy arrives with the answered/completed callbacks.
            kwargs["machine_detection"] = "Enable"
        call = run_with_retries(
            lambda: self._attempt(lambda: self._client.calls.create(**kwargs)),
            provider=PROVIDER, breaker=self.breaker, policy=self.retry,
            retry_if=lambda exc: not exc.ambiguous,
        )
        return str(call.sid)

    def end_call(self, sid: str) -> str | None:
        """Hang up (or cancel, if not answered yet) a call; returns its new status."""
        def update() -> Any:
            call = self._client.calls(sid).fetch()
            if call.status in ("queued", "ringing"):
                return self._client.calls(sid).update(status="canceled")
            if call.status == "in-progress":
                return self._client.calls(sid).update(status="completed")
            return call  # already over: nothing to do

        # Both branches are idempotent (ending an ended call changes nothing).
        result = run_with_retries(lambda: self._attempt(update), provider=PROVIDER,
                                  breaker=self.breaker, policy=self.retry)
        return getattr(result, "status", None)

    def delete_call(self, sid: str) -> bool:
        """Delete a call's record at Twilio (it leaves the API and the console's logs); False
        when it was already gone."""
        try:
            run_with_retries(lambda: self._attempt(lambda: self._client.calls(sid).delete()),
                             provider=PROVIDER, breaker=self.breaker, policy=self.retry)
        except ProviderError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def find_calls(self, to: str, *, since: datetime, limit: int = 20) -> list[TwilioCall]:
        """Calls from our number to `to` that started on or after `since`'s UTC day, and the
        ones still queued (a queued call has no start time, so the date filter misses it)."""
        number = normalize_phone(to)

        def read() -> list[Any]:
            # Twilio documents the StartTime filter as a UTC day, so the day is what is sent.
            day = since.astimezone(UTC).date().isoformat()
            started = self._client.calls.list(to=number, from_=self.from_number,
                                              start_time_after=day, limit=limit)
            queued = self._client.calls.list(to=number, from_=self.from_number, status="queued",
                                             limit=limit)
            return [*started, *queued]

        calls = run_with_retries(lambda: self._attempt(read), provider=PROVIDER,
                                 breaker=self.breaker, policy=self.retry)
        unique = {str(c.sid): c for c in calls}
        return [self._typed(c) for c in unique.values()]

    @staticmethod
    def _typed(call: Any) -> TwilioCall:
        created = getattr(call, "date_created", None)
        return TwilioCall(
            sid=str(call.sid),
            status=call.status,
            price=_decimal(call.price),
            price_unit=call.price_unit,
            duration=int(call.duration) if call.duration not in (None, "") else None,
            answered_by=getattr(call, "answered_by", None),
            date_created=created if isinstance(created, datetime) else None,
        )

    def fetch_call(self, sid: str) -> TwilioCall:
        """Status, price (negative string from Twilio, None until known) and duration of a call."""
        call = run_with_retries(
            lambda: self._attempt(lambda: self._client.calls(sid).fetch()),
            provider=PROVIDER, breaker=self.breaker, policy=self.retry,
        )
        return self._typed(call)


# What Twilio's common refusals of a call mean, in our words (Twilio's own texts quote numbers).
_REFUSALS: dict[int, str] = {
    20003: "the Twilio account credentials were refused",
    21210: "our caller number (TWILIO_FROM_NUMBER) is not verified for the Twilio account",
    21211: "the number is not a valid phone number",
    21212: "our caller number (TWILIO_FROM_NUMBER) is not a valid phone number",
    21214: "the number cannot be reached",
    21215: "the Twilio account's geographic permissions do not allow calls to that country",
    21216: "Twilio blocks calls to the number",
    21217: "the number does not appear to be valid",
    21219: "the number is not verified, and a Twilio trial account may only call verified numbers",
    21610: "the number has unsubscribed from this Twilio account",
    13224: "Twilio cannot call this kind of number, or the number is not valid",
    13227: "the Twilio account is not allowed to call that country (international permissions)",
}


def _error_code(code: object) -> int | None:
    try:
        return int(str(code)) if code not in (None, "") else None
    except ValueError:
        return None


def refusal_text(code: int | None, status: int | None = None) -> str:
    """Why Twilio refused, in plain words, never quoting Twilio (its texts contain numbers)."""
    if code in _REFUSALS:
        return _REFUSALS[code]
    if status in (401, 403):
        return "the Twilio account credentials were refused"
    return "Twilio gave no reason we can show"


def refused_call_reason(code: int | None, status: int | None = None) -> str:
    """The failure reason of a call Twilio refused to place: our words and Twilio's error code."""
    ref = f"error {code}" if code is not None else f"HTTP {status or 'error'}"
    if code in _REFUSALS or status in (401, 403):
        return f"Twilio refused the call: {refusal_text(code, status)} ({ref})"
    return f"Twilio refused the call ({ref})"


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@functools.lru_cache(maxsize=4)
def _gateway_for(sid: str, token: str, from_number: str, base_url: str | None,
                 webhook_base: str, timeout: float, ring: int, attempts: int, max_wait: float,
                 threshold: int, reset_seconds: float) -> TwilioGateway:
    return TwilioGateway(
        sid, token, from_number, base_url=base_url, webhook_base_url=webhook_base,
        timeout=timeout, default_ring_timeout=ring,
        retry=RetryPolicy(attempts=attempts, max_delay=max_wait),
        breaker=CircuitBreaker(PROVIDER, threshold=threshold, reset_seconds=reset_seconds),
    )


def get_twilio() -> TwilioGateway:
    """The process-wide Twilio gateway (pointed at the sandbox in sandbox mode)."""
    s = get_settings()
    return _gateway_for(
        s.twilio_sid, s.twilio_token, s.twilio_from,
        s.sandbox_base_url if s.is_sandbox else None, s.webhook_base_url,
        s.http_timeout_seconds, s.ring_timeout_seconds, s.provider_retry_attempts,
        s.provider_retry_max_wait_seconds, s.provider_breaker_threshold,
        s.provider_breaker_reset_seconds,
    )
