"""Downloading provider media (recordings, voice previews) safely.

The API answers with the file or a redirect to storage. A redirect is followed by hand, only
to an allowed origin — the API's own, or an https host of MEDIA_DOWNLOAD_HOSTS (in sandbox
mode only the sandbox) — never with our API key, at most a few hops; the body is streamed and
the download stops as soon as it passes the size cap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

from core.providers.resilience import ProviderError, TransientError, parse_retry_after

log = logging.getLogger(__name__)

MAX_RECORDING_BYTES = 200 * 1024 * 1024  # a 60-minute call as 16-bit WAV is well under this
MAX_PREVIEW_BYTES = 5 * 1024 * 1024  # a few seconds of sample speech
MAX_REDIRECTS = 3
_CHUNK = 64 * 1024
REDIRECTS = (301, 302, 303, 307, 308)


class MediaRefused(ProviderError):
    """A download we refuse to make or finish (host not allowed, too large, too many hops)."""


@dataclass(frozen=True)
class MediaPolicy:
    """Where media may come from: the API's own origin, plus these https hosts."""

    api_origin: tuple[str, str]  # (scheme, netloc) of the API base URL
    hosts: frozenset[str] = frozenset()

    @classmethod
    def for_api(cls, base_url: str, hosts: frozenset[str] = frozenset()) -> MediaPolicy:
        """The policy of an API at `base_url` (hosts: the storage hosts allowed over https)."""
        parts = urlsplit(base_url)
        return cls((parts.scheme.lower(), parts.netloc.lower()), frozenset(h.lower() for h in hosts))

    def allows(self, url: str) -> bool:
        """True when `url` may be fetched: the API's origin, or an allowed host over https."""
        parts = urlsplit(url)
        if parts.username or parts.password:
            return False
        if (parts.scheme.lower(), parts.netloc.lower()) == self.api_origin:
            return True
        return (parts.scheme == "https" and parts.port in (None, 443)
                and (parts.hostname or "").lower() in self.hosts)


def read_capped(resp: requests.Response, max_bytes: int, what: str, provider: str) -> bytes:
    """The body of a streamed response, refused (and the connection closed) past `max_bytes`."""
    try:
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise MediaRefused(provider, 413, f"the {what} is larger than {max_bytes // 1_048_576} MB")
        body = bytearray()
        for chunk in resp.iter_content(_CHUNK):
            body += chunk
            if len(body) > max_bytes:
                raise MediaRefused(provider, 413, f"the {what} is larger than {max_bytes // 1_048_576} MB")
        return bytes(body)
    except requests.RequestException as exc:
        raise TransientError(f"{what} download interrupted", ambiguous=False) from exc
    finally:
        resp.close()


def _host(url: str) -> str:
    # Logged when refused: the host only, never the (signed) path or query.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}"


def fetch_redirected(location: str, *, policy: MediaPolicy, max_bytes: int, what: str, provider: str,
                     timeout: float | tuple[float, float],
                     get: Callable[..., requests.Response] = requests.get) -> tuple[bytes, str]:
    """Follow a media redirect by hand — allowed origins only, no API key, a few hops — and
    return (body, content type). One attempt: TransientError or ProviderError on failure."""
    url = location
    for _ in range(MAX_REDIRECTS + 1):
        if not policy.allows(url):
            log.warning("%s download refused: redirect to %s is not an allowed host "
                        "(MEDIA_DOWNLOAD_HOSTS)", what, _host(url))
            raise MediaRefused(provider, 502, f"the {what} is served from a host that is not allowed "
                                              f"({_host(url)}; see MEDIA_DOWNLOAD_HOSTS)")
        try:
            # A fresh request without our headers: the storage URL carries its own signature.
            resp = get(url, timeout=timeout, allow_redirects=False, stream=True)
        except requests.Timeout as exc:
            raise TransientError(f"{what} download timed out", ambiguous=False) from exc
        except requests.ConnectionError as exc:
            raise TransientError(f"{what} download failed", ambiguous=False) from exc
        if resp.status_code in REDIRECTS:
            url = urljoin(url, resp.headers.get("Location", ""))
            resp.close()
            continue
        if resp.status_code == 429 or resp.status_code >= 500:
            resp.close()
            raise TransientError(f"{what} download HTTP {resp.status_code}", ambiguous=False,
                                 retry_after=parse_retry_after(resp.headers.get("Retry-After")))
        if resp.status_code >= 400:
            resp.close()
            raise ProviderError(provider, resp.status_code, f"{what} download refused")
        content_type = resp.headers.get("Content-Type", "audio/wav").split(";")[0].strip()
        return read_capped(resp, max_bytes, what, provider), content_type
    raise MediaRefused(provider, 502, f"the {what} download was redirected too many times")
