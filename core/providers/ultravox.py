"""The Ultravox REST client: voices, models, calls, messages, recordings."""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from core.config import get_settings
from core.providers import media
from core.providers.resilience import (
    CircuitBreaker,
    ProviderError,
    ProviderUnavailable,
    RetryPolicy,
    TransientError,
    parse_retry_after,
    run_with_retries,
    transport_errors,
)

log = logging.getLogger(__name__)

PROVIDER = "Ultravox"
_MAX_PAGES = 200  # a runaway `next` chain must not loop forever
_DURATION_RE = re.compile(r"^(-?\d+(?:\.\d+)?)s$")


class _UltravoxModel(BaseModel):
    """Base for API objects: camelCase on the wire, unknown fields kept, optional ones tolerated."""

    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True)


class Voice(_UltravoxModel):
    """A voice from `GET /api/voices`."""

    voice_id: str
    name: str
    description: str | None = None
    primary_language: str | None = None
    language_label: str | None = None
    preview_url: str | None = None
    ownership: str | None = None
    billing_style: str | None = None
    provider: str | None = None


class Model(_UltravoxModel):
    """A model alias from `GET /api/models`."""

    name: str


class Call(_UltravoxModel):
    """An Ultravox call (create/get/list responses and the `call` of webhooks)."""

    call_id: str
    created: datetime | None = None
    joined: datetime | None = None
    ended: datetime | None = None
    join_url: str | None = None
    end_reason: str | None = None
    billed_duration: str | None = None
    billing_status: str | None = None
    short_summary: str | None = None
    summary: str | None = None
    metadata: dict[str, str] | None = None
    recording_enabled: bool | None = None
    max_duration: str | None = None
    join_timeout: str | None = None
    model: str | None = None
    voice: str | None = None

    @property
    def billed_seconds(self) -> float | None:
        """`billedDuration` as seconds, or None when not billed yet."""
        return parse_duration(self.billed_duration)


class Message(_UltravoxModel):
    """One transcript message from `GET /api/calls/{id}/messages`."""

    role: str
    text: str | None = None
    medium: str | None = None
    call_stage_message_index: int | None = None
    tool_name: str | None = None
    invocation_id: str | None = None
    timespan: dict[str, Any] | None = None


@dataclass(frozen=True)
class Recording:
    """Audio bytes of a call recording and their content type."""

    content: bytes
    content_type: str


def parse_duration(value: str | None) -> float | None:
    """Parse a protobuf duration string like "42s" or "5.5s" into seconds."""
    if not value:
        return None
    match = _DURATION_RE.match(value.strip())
    return float(match.group(1)) if match else None


def format_duration(seconds: float) -> str:
    """Seconds as the duration string Ultravox expects ("600s")."""
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds:.3f}s"


def _error_message(resp: requests.Response) -> str:
    """The provider's own message from an error body (format undocumented: try DRF shapes)."""
    try:
        data = resp.json()
    except ValueError:
        return (resp.text or resp.reason or "").strip()[:300] or f"HTTP {resp.status_code}"
    if isinstance(data, dict):
        for key in ("detail", "message", "error"):
            if isinstance(data.get(key), str):
                return data[key]
        parts = [f"{k}: {v[0] if isinstance(v, list) and v else v}" for k, v in data.items()]
        return "; ".join(parts)[:300]
    return str(data)[:300]


class UltravoxClient:
    """Talks to one Ultravox API root with one key over one keep-alive session."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        connect_timeout: float = 3.05,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        media_hosts: frozenset[str] = frozenset(),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.media_policy = media.MediaPolicy.for_api(self.base_url, media_hosts)
        self._api_key = api_key
        self._timeout = (min(connect_timeout, timeout), timeout)
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(PROVIDER)
        self._session = requests.Session()
        self._session.headers.update({"Accept": "application/json"})

    # -- low level -------------------------------------------------------------------------

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            # `next` links are followed verbatim, but our key only ever goes to our API host.
            if urlsplit(path_or_url).netloc != urlsplit(self.base_url).netloc:
                raise ProviderError(PROVIDER, 502, "pagination link points to another host")
            return path_or_url
        return f"{self.base_url}{path_or_url}"

    def _send(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        stream: bool = False,
    ) -> requests.Response:
        """One attempt: an answer, or TransientError / ProviderError (redirects are not followed:
        our key must never travel to where a redirect points)."""
        with transport_errors():
            resp = self._session.request(
                method,
                self._url(path_or_url),
                params=params,
                json=json,
                headers={"X-API-Key": self._api_key},
                timeout=self._timeout,
                allow_redirects=False,
                stream=stream,
            )
        if resp.status_code == 429:
            raise TransientError(
                "rate limited (HTTP 429)",
                retry_after=parse_retry_after(resp.headers.get("Retry-After")),
                ambiguous=False,
            )
        if resp.status_code >= 500:
            raise TransientError(
                f"HTTP {resp.status_code}",
                retry_after=parse_retry_after(resp.headers.get("Retry-After")),
                ambiguous=True,
                answered=True,
            )
        if resp.status_code in (401, 403):
            raise ProviderError(PROVIDER, resp.status_code,
                                f"the API key was refused: {_error_message(resp)}")
        if resp.status_code >= 400:
            raise ProviderError(PROVIDER, resp.status_code, _error_message(resp))
        return resp

    def _request(self, method: str, path_or_url: str, **kwargs: Any) -> requests.Response:
        """An idempotent request with retries on timeouts, 429 and 5xx."""
        return run_with_retries(
            lambda: self._send(method, path_or_url, **kwargs),
            provider=PROVIDER,
            breaker=self.breaker,
            policy=self.retry,
        )

    def _json(self, resp: requests.Response) -> Any:
        try:
            return resp.json()
        except ValueError as exc:
            raise ProviderUnavailable(PROVIDER, "unreadable answer") from exc

    def _all_pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every `results` item of a cursor-paginated list, following `next` verbatim."""
        items: list[dict[str, Any]] = []
        url: str | None = path
        query: dict[str, Any] | None = params
        for _ in range(_MAX_PAGES):
            if url is None:
                break
            page = self._json(self._request("GET", url, params=query))
            items.extend(page.get("results") or [])
            url = page.get("next")
            if url and not url.startswith(("http://", "https://")):
                url = urljoin(self.base_url + "/", url)
            query = None  # `next` already carries the cursor and the filters
        return items

    # -- public API ------------------------------------------------------------------------

    def list_voices(self, *, page_size: int = 100, search: str | None = None) -> list[Voice]:
        """All voices (every page)."""
        params: dict[str, Any] = {"pageSize": page_size}
        if search:
            params["search"] = search
        return [Voice.model_validate(v) for v in self._all_pages("/api/voices", params)]

    def list_models(self) -> list[Model]:
        """All model aliases."""
        return [Model.model_validate(m) for m in self._all_pages("/api/models", {})]

    def list_calls(self, *, metadata: dict[str, str] | None = None, page_size: int = 100,
                   max_items: int = 1000) -> list[Call]:
        """Calls, optionally filtered by metadata (`metadata.key=value`), newest first, capped."""
        params: dict[str, Any] = {"pageSize": page_size, "sort": "-created"}
        for key, value in (metadata or {}).items():
            params[f"metadata.{key}"] = value
        return [Call.model_validate(c) for c in self._all_pages("/api/calls", params)[:max_items]]

    def create_call(self, body: dict[str, Any], params: dict[str, Any] | None = None) -> Call:
        """Create a call; after an ambiguous failure, look it up by `metadata.screeningId` first.

        After a 5xx the call is looked up and re-sent only if absent; after a timeout it is
        only looked up (the server may still be working), never re-sent. Without a
        `screeningId` only failures the server certainly did not process (429, refused
        connection) are retried. ProviderUnavailable then means "not confirmed": the
        caller finds the call later by its screening id.
        """
        screening_id = (body.get("metadata") or {}).get("screeningId")
        state = {"failed_5xx": False, "unanswered": False}

        def attempt() -> Call:
            if screening_id and (state["failed_5xx"] or state["unanswered"]):
                # An earlier attempt may have created the call: look before anything else.
                found = self._find_by_screening_id(screening_id)
                if found is not None:
                    log.info("Ultravox create: found the call from an earlier attempt")
                    return found
                if state["unanswered"]:
                    # The server never answered, so it may still be creating the call: keep
                    # looking (with backoff) but never send a second create in this operation.
                    raise TransientError("the call was requested but not confirmed",
                                         ambiguous=True)
            try:
                resp = self._send("POST", "/api/calls", params=params, json=body)
            except TransientError as exc:
                if exc.ambiguous:
                    state["failed_5xx" if exc.answered else "unanswered"] = True
                raise
            return Call.model_validate(self._json(resp))

        return run_with_retries(
            attempt,
            provider=PROVIDER,
            breaker=self.breaker,
            policy=self.retry,
            retry_if=lambda exc: not exc.ambiguous or bool(screening_id),
        )

    def _find_by_screening_id(self, screening_id: str) -> Call | None:
        """The call carrying this screening id, if any (one attempt; failure is transient)."""
        resp = self._send("GET", "/api/calls",
                          params={"metadata.screeningId": screening_id, "pageSize": 5})
        results = (self._json(resp).get("results") or [])
        return Call.model_validate(results[0]) if results else None

    def get_call(self, call_id: str) -> Call:
        """One call by id."""
        return Call.model_validate(self._json(self._request("GET", f"/api/calls/{call_id}")))

    def list_messages(self, call_id: str, *, page_size: int = 200) -> list[Message]:
        """The whole transcript of a call (all pages, all stages: `mode=in_call`)."""
        items = self._all_pages(f"/api/calls/{call_id}/messages",
                                {"mode": "in_call", "pageSize": page_size})
        return [Message.model_validate(m) for m in items]

    def get_recording(self, call_id: str) -> Recording | None:
        """The call's recording, or None when there is none (yet); follows the storage
        redirect only to allowed hosts, without our key, within MAX_RECORDING_BYTES."""
        return self._media(f"/api/calls/{call_id}/recording", (404, 409, 425), "recording",
                           media.MAX_RECORDING_BYTES)

    def get_voice_preview(self, voice_id: str) -> Recording | None:
        """A voice's sample audio (GET /api/voices/{id}/preview); None when the voice has none."""
        return self._media(f"/api/voices/{voice_id}/preview", (404,), "voice preview",
                           media.MAX_PREVIEW_BYTES)

    def _media(self, path: str, absent: tuple[int, ...], what: str, max_bytes: int) -> Recording | None:
        def attempt() -> Recording:
            resp = self._send("GET", path, stream=True)
            if resp.status_code in media.REDIRECTS:
                location = urljoin(resp.url, resp.headers.get("Location", ""))
                resp.close()
                # The file lives on storage behind a signed URL: fetched without our API key.
                content, content_type = media.fetch_redirected(
                    location, policy=self.media_policy, max_bytes=max_bytes, what=what,
                    provider=PROVIDER, timeout=self._timeout)
                return Recording(content=content, content_type=content_type)
            content_type = resp.headers.get("Content-Type", "audio/wav").split(";")[0].strip()
            return Recording(content=media.read_capped(resp, max_bytes, what, PROVIDER),
                             content_type=content_type)

        try:
            return run_with_retries(attempt, provider=PROVIDER, breaker=self.breaker, policy=self.retry)
        except media.MediaRefused:
            raise
        except ProviderError as exc:
            if exc.status in absent:
                return None
            raise

    def delete_call(self, call_id: str) -> bool:
        """Delete a call at Ultravox: its messages, recording and summaries go for good (a
        tombstone stays there). False when it was already gone (deleting twice is harmless)."""
        try:
            self._request("DELETE", f"/api/calls/{call_id}")
        except ProviderError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def end_call(self, call_id: str, message: str = "Goodbye!") -> bool:
        """Hang up a live call; False when it was not active (not joined yet or already over)."""
        try:
            self._request("POST", f"/api/calls/{call_id}/send_data_message",
                          json={"type": "hang_up", "message": message})
        except ProviderError as exc:
            if exc.status == 422:
                return False
            raise
        return True


@functools.lru_cache(maxsize=4)
def _client_for(base_url: str, api_key: str, timeout: float, attempts: int, max_wait: float,
                threshold: int, reset_seconds: float, media_hosts: frozenset[str]) -> UltravoxClient:
    return UltravoxClient(
        base_url, api_key, timeout=timeout,
        retry=RetryPolicy(attempts=attempts, max_delay=max_wait),
        breaker=CircuitBreaker(PROVIDER, threshold=threshold, reset_seconds=reset_seconds),
        media_hosts=media_hosts,
    )


def get_ultravox() -> UltravoxClient:
    """The process-wide client for the configured Ultravox (or the sandbox)."""
    s = get_settings()
    # In sandbox mode media comes from the sandbox only (its own origin), never from elsewhere.
    hosts = frozenset() if s.is_sandbox else s.media_hosts
    return _client_for(s.ultravox_url, s.ultravox_key, s.http_timeout_seconds,
                       s.provider_retry_attempts, s.provider_retry_max_wait_seconds,
                       s.provider_breaker_threshold, s.provider_breaker_reset_seconds, hosts)
