"""gunicorn's threaded worker with a deadline per request, so slow clients cannot stall the sidecar.

gunicorn's `gthread` worker hands a connection to a thread as soon as its first bytes arrive and
then reads the request with a blocking socket and no timeout: a client that sends half a header
and waits holds that thread for as long as it likes, and a dozen such clients held every thread
(`/healthz` went unanswered for 40 s). Here each request, headers and body, must arrive within
WEBHOOK_READ_TIMEOUT_SECONDS, and each response must be taken within the same time; a slower
connection is closed. Twilio and Ultravox send a whole webhook in milliseconds.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from core.config import get_settings

log = logging.getLogger(__name__)


class DeadlineSocket:
    """A client socket whose reads share one deadline per request; a late read closes it."""

    def __init__(self, sock: socket.socket, seconds: float, peer: Any) -> None:
        self._sock = sock
        self._seconds = seconds
        self._peer = peer
        self._deadline = time.monotonic() + seconds
        self._dropped = False

    def start_request(self) -> None:
        """Give the next request on this connection its full time."""
        self._deadline = time.monotonic() + self._seconds

    def _drop(self, what: str) -> bytes:
        if self._dropped:
            return b""
        self._dropped = True
        host = self._peer[0] if isinstance(self._peer, tuple) and self._peer else self._peer
        log.warning("dropped a slow client (%s) that did not %s within %.0f s", host, what,
                    self._seconds)
        # Shut down rather than only return EOF: nothing more is read from or written to this
        # connection, so it can never be reused with half a request left in it.
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        return b""

    def recv(self, size: int, *flags: int) -> bytes:
        """Read with what is left of the request's deadline; EOF (and closed) once it passed."""
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            return self._drop("send its request")
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(size, *flags)
        except TimeoutError:
            return self._drop("send its request")

    def sendall(self, data: bytes, *flags: int) -> None:
        """Write a response that the client must take within the timeout."""
        self._sock.settimeout(self._seconds)
        try:
            self._sock.sendall(data, *flags)
        except TimeoutError:
            self._drop("read its response")
            raise BrokenPipeError("client too slow to read the response") from None

    def send(self, data: bytes, *flags: int) -> int:
        """Write part of a response within the timeout."""
        self._sock.settimeout(self._seconds)
        return self._sock.send(data, *flags)

    def __getattr__(self, name: str) -> Any:
        # fileno, setblocking, close, shutdown, getpeername ...: the real socket's.
        return getattr(self._sock, name)


class BoundedThreadWorker(ThreadWorker):
    """The `gthread` worker, each request bounded by WEBHOOK_READ_TIMEOUT_SECONDS."""

    read_timeout: float = 10.0

    def init_process(self) -> None:
        """Read the timeout from the settings, then run gunicorn's worker loop."""
        self.read_timeout = get_settings().webhook_read_timeout_seconds
        super().init_process()

    def enqueue_req(self, conn: Any) -> None:
        """Hand a connection to a thread, its socket wrapped once with a deadline."""
        if not isinstance(conn.sock, DeadlineSocket):
            conn.sock = DeadlineSocket(conn.sock, self.read_timeout, conn.client)
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        """Serve one request on the connection, its deadline starting now."""
        conn.sock.start_request()
        return super().handle(conn)
