"""Signature checks of the provider webhooks, run before any view reads the body."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Request, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from core.config import get_settings
from core.lifecycle import signatures

log = logging.getLogger(__name__)

# A check returns None when the request is authentic, else a short reason (for the log only).
SignatureCheck = Callable[[Request], str | None]


def require_signature(check: SignatureCheck, provider: str, status: int) -> Callable:
    """Decorator: run `check` before the view; refuse with `status` and one warning if it fails."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            # Size first: an oversized body is refused before anything reads it.
            if (request.content_length or 0) > current_app.config["MAX_CONTENT_LENGTH"]:
                raise RequestEntityTooLarge()
            reason = check(request)
            if reason is not None:
                # Never the body, headers or phone numbers: only who and why.
                log.warning("%s webhook refused: %s (from %s)", provider, reason,
                            request.remote_addr)
                return jsonify(error="signature verification failed"), status
            return view(*args, **kwargs)

        return wrapper

    return decorate


def ultravox_check(req: Request) -> str | None:
    settings = get_settings()
    body = req.get_data(cache=True)  # raises 413 beyond MAX_CONTENT_LENGTH
    return signatures.verify_ultravox(
        body,
        req.headers.get("X-Ultravox-Webhook-Timestamp"),
        req.headers.get("X-Ultravox-Webhook-Signature"),
        [settings.ultravox_secret],
        max_age_seconds=settings.webhook_max_age_seconds,
    )


def public_url(req: Request) -> str:
    """The URL the provider called, rebuilt from the configured public base (proxy-safe)."""
    # Behind a tunnel or load balancer request.url has the wrong scheme/host; the provider
    # signed the public URL, and the query string must stay byte-for-byte as sent.
    query = req.query_string.decode("utf-8", "replace")
    return get_settings().webhook_base_url + req.path + (f"?{query}" if query else "")


def twilio_check(req: Request) -> str | None:
    signature = req.headers.get("X-Twilio-Signature")
    if not signature:
        return "missing signature header"
    if not signatures.verify_twilio(public_url(req), req.form, signature, get_settings().twilio_token):
        return "bad signature"
    return None
