"""Recording and voice-preview downloads: redirects only to allowed hosts over https (the API's
own origin in sandbox mode), never with our API key, and stopped past the size cap.

A small local server plays the API and the storage, and redirects where an attacker would."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core.agent import catalog
from core.providers import media
from core.providers.resilience import RetryPolicy
from core.providers.ultravox import UltravoxClient

_WAV = b"RIFF" + b"\x00" * 40


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, bool]] = []  # (path, had our API key)
        self.streamed = 0  # bytes of the endless body actually written


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args) -> None:  # quiet
        pass

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        port = self.server.server_address[1]
        self.server.seen.append((self.path, "X-API-Key" in self.headers))
        route = self.path.split("?")[0]
        if route == "/api/calls/ok/recording":
            return self._redirect("/storage/rec.wav?signature=abc")
        if route == "/api/calls/other-host/recording":
            return self._redirect(f"http://localhost:{port}/storage/rec.wav")  # another origin
        if route == "/api/calls/to-evil/recording":
            return self._redirect("https://evil.example/steal")
        if route == "/api/calls/plain-http-storage/recording":
            return self._redirect("http://storage.test/rec.wav")  # allowed host, but not https
        if route == "/api/calls/loop/recording":
            return self._redirect("/api/calls/loop/recording")
        if route == "/api/calls/big-declared/recording":
            return self._redirect("/storage/declared.wav")
        if route == "/api/voices/endless/preview":
            return self._redirect("/storage/endless.wav")
        if route == "/storage/rec.wav":
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(_WAV)))
            self.end_headers()
            self.wfile.write(_WAV)
            return None
        if route == "/storage/declared.wav":
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(media.MAX_RECORDING_BYTES + 1))
            self.end_headers()
            return None
        if route == "/storage/endless.wav":
            # No length: the body ends when the connection does (the client must stop reading).
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"\x00" * 65536
            try:
                for _ in range(50 * 1024 * 1024 // len(chunk)):
                    self.wfile.write(chunk)
                    self.server.streamed += len(chunk)
            except OSError:
                pass
            return None
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _client(srv: _Server, hosts: frozenset[str] = frozenset()) -> UltravoxClient:
    return UltravoxClient(f"http://127.0.0.1:{srv.server_address[1]}", "our-secret-key", timeout=5,
                          retry=RetryPolicy(attempts=1), media_hosts=hosts)


def test_a_same_origin_redirect_is_followed_without_our_key(server) -> None:
    got = _client(server).get_recording("ok")
    assert got is not None and got.content == _WAV and got.content_type == "audio/wav"
    assert server.seen == [("/api/calls/ok/recording", True), ("/storage/rec.wav?signature=abc", False)]


@pytest.mark.parametrize("call", ["other-host", "to-evil", "plain-http-storage"])
def test_a_redirect_to_a_host_not_allowed_is_refused_and_never_fetched(server, call) -> None:
    with pytest.raises(media.MediaRefused, match="not allowed"):
        _client(server, hosts=frozenset({"storage.test"})).get_recording(call)
    assert server.seen == [(f"/api/calls/{call}/recording", True)]  # the storage was never asked


def test_redirect_loops_stop(server) -> None:
    with pytest.raises(media.MediaRefused, match="redirected too many times"):
        _client(server).get_recording("loop")
    assert len(server.seen) == 1 + media.MAX_REDIRECTS + 1
    assert [key for _path, key in server.seen] == [True] + [False] * (media.MAX_REDIRECTS + 1)


def test_a_declared_size_over_the_cap_is_refused_before_reading(server) -> None:
    with pytest.raises(media.MediaRefused, match="larger than 200 MB"):
        _client(server).get_recording("big-declared")


def test_an_endless_body_is_cut_at_the_cap_and_the_preview_is_dropped(server, db) -> None:
    client = _client(server)
    with pytest.raises(media.MediaRefused, match="larger than 5 MB"):
        client.get_voice_preview("endless")
    assert catalog.voice_preview(db, "endless", client) is None  # shown as "no preview"
    assert server.streamed < 40 * 1024 * 1024  # the download stopped; it did not read 50 MB


def test_allowed_storage_hosts_must_be_https() -> None:
    policy = media.MediaPolicy.for_api("https://api.ultravox.ai", frozenset({"storage.googleapis.com"}))
    assert policy.allows("https://api.ultravox.ai/api/calls/x/recording")
    assert policy.allows("https://storage.googleapis.com/bucket/rec.wav?X-Goog-Signature=1")
    for url in ("http://storage.googleapis.com/rec.wav", "https://storage.googleapis.com:8443/rec.wav",
                "https://evil.example/rec.wav", "https://user:pw@storage.googleapis.com/rec.wav",
                "https://storage.googleapis.com.evil.example/rec.wav", "file:///etc/passwd"):
        assert not policy.allows(url), url
    assert catalog.voice_preview.__doc__ and catalog._VOICE_ID.match("../calls/x") is None
