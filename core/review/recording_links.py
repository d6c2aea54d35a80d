"""Short-lived signed links to a call's recording, served by the sidecar (`GET /recordings/<id>`).

Streamlit serves `st.audio` bytes at `/media/...` to anyone who has the URL, logged in or not,
so the call page plays recordings from the sidecar instead, with a link that names the user
and the call and expires within 10 minutes: `?token=v1.<user>.<expiry>.<HMAC>` under
RECORDING_URL_KEY. The sidecar checks the signature, the expiry, the call and the user (still
there, enabled, allowed to open the call page) on every request, and audits each playback.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from core import audit
from core.auth import PAGE_ROLES, User, get_user
from core.config import get_settings
from core.db import Database
from core.review.filters import valid_call_id

MAX_TTL_SECONDS = 600  # the longest a link is valid (issue 13: ≤ 10 minutes)
_VERSION = "v1"


class LinkRefused(Exception):
    """A recording link that does not open the recording (the reason is for logs and tests)."""


@dataclass(frozen=True)
class RecordingLink:
    """A signed link to a call's recording and when it stops working (epoch seconds)."""

    url: str
    expires_at: int


def may_play(user: User | None) -> bool:
    """True when the user may hear recordings: the roles that may open a call's page."""
    return user is not None and not user.disabled and user.role in PAGE_ROLES["transcripts"]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode()).decode()


def _signature(username: str, call_id: str, expires: int) -> str:
    message = f"recording|{_VERSION}|{username}|{call_id}|{expires}".encode()
    return hmac.new(get_settings().recording_url_secret, message, hashlib.sha256).hexdigest()


def make_token(user: User, call_id: str, *, now: float | None = None, ttl: int = MAX_TTL_SECONDS) -> str:
    """A token that lets `user` fetch the recording of `call_id` for `ttl` seconds (≤ 10 min)."""
    ttl = max(1, min(int(ttl), MAX_TTL_SECONDS))
    expires = int(now if now is not None else time.time()) + ttl
    return f"{_VERSION}.{_b64(user.username)}.{expires}.{_signature(user.username, call_id, expires)}"


def link_for(user: User, call_id: str, *, now: float | None = None) -> RecordingLink:
    """The sidecar URL that plays the call's recording for this user (public base URL in live)."""
    token = make_token(user, call_id, now=now)
    base = get_settings().webhook_base_url.rstrip("/")
    expires = int(token.split(".")[2])
    return RecordingLink(f"{base}/recordings/{quote(call_id)}?{urlencode({'token': token})}", expires)


def check_token(db: Database, call_id: str, token: str, *, now: float | None = None) -> User:
    """The user a token was issued to, if it opens this call's recording now; LinkRefused if not."""
    if valid_call_id(call_id) is None:
        raise LinkRefused("not a call id")
    parts = (token or "").split(".")
    if len(parts) != 4 or parts[0] != _VERSION or not parts[2].isdigit():
        raise LinkRefused("malformed token")
    try:
        username = _unb64(parts[1])
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise LinkRefused("malformed token") from exc
    expires = int(parts[2])
    if not hmac.compare_digest(parts[3], _signature(username, call_id, expires)):
        raise LinkRefused("bad signature (another call, another user, or forged)")
    current = now if now is not None else time.time()
    if expires <= current:
        raise LinkRefused("expired")
    if expires - current > MAX_TTL_SECONDS + 5:
        raise LinkRefused("valid for longer than allowed")
    user = get_user(db, username)
    if user is None or not may_play(user):
        raise LinkRefused("the user is gone, disabled, or may not open calls")
    return user


def record_playback(db: Database, user: User, call_id: str) -> None:
    """Audit that the user started playing the call's recording."""
    audit.record(db, actor=user.username, action="recording.play", entity="call", entity_id=call_id)
