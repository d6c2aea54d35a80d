"""Test helper: a tiny local HTTP receiver standing in for the webhook sidecar."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sandbox.state import wait_until


@dataclass
class ReceivedWebhook:
    """One request the receiver got: path, headers, raw body and form fields."""

    path: str
    headers: dict[str, str]
    body: bytes
    form: dict[str, str] = field(default_factory=dict)


class WebhookReceiver:
    """Records every POST; can misbehave for the next requests to exercise retries.

    In this order of precedence, each counter consumed by one request: `drop_next` closes the
    connection without an answer, `hang_next` answers only after `hang_seconds` (the sender
    times out first), `fail_next` answers `fail_status` (500). With `fail_path` set, only
    requests to that path misbehave. Misbehaved requests are recorded with an `X-Test-Answered` header.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.requests: list[ReceivedWebhook] = []
        self.fail_next = 0
        self.fail_status = 500
        self.drop_next = 0
        self.hang_next = 0
        self.hang_seconds = 5.0
        self.fail_path: str | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._server = make_server("127.0.0.1", port, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)

    def _misbehaviour(self, path: str) -> str | None:
        """Which way to misbehave for this request (consuming one of that counter), if any."""
        if self.fail_path is not None and path != self.fail_path:
            return None
        for mode in ("drop", "hang", "fail"):
            if getattr(self, f"{mode}_next") > 0:
                setattr(self, f"{mode}_next", getattr(self, f"{mode}_next") - 1)
                return mode
        return None

    def _app(self, environ: dict[str, Any], start_response: Callable) -> Any:
        request = Request(environ)
        body = request.get_data(cache=True)
        item = ReceivedWebhook(request.path, dict(request.headers), body,
                               request.form.to_dict() if request.form else {})
        with self._lock:
            mode = self._misbehaviour(request.path)
            if mode is not None:
                item.headers["X-Test-Answered"] = {"drop": "dropped", "hang": "late",
                                                   "fail": str(self.fail_status)}[mode]
            self.requests.append(item)
        if mode == "drop":
            # Close the socket under the server: the sender sees the connection end, no answer.
            # (werkzeug then treats its own failed write as a dropped connection.)
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            return Response(status=204)(environ, start_response)
        if mode == "hang":
            self._stopped.wait(self.hang_seconds)
            return Response(status=204)(environ, start_response)
        if mode == "fail":
            return Response("try again", status=self.fail_status)(environ, start_response)
        return Response(status=204)(environ, start_response)

    def start(self) -> WebhookReceiver:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (a hanging request is let go)."""
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def accepted(self, path: str | None = None) -> list[ReceivedWebhook]:
        """Requests answered 2xx (optionally only those to `path`)."""
        with self._lock:
            return [r for r in self.requests if "X-Test-Answered" not in r.headers
                    and (path is None or r.path == path)]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Poll `predicate` until truthy, else raise TimeoutError."""
        return wait_until(predicate, timeout, "webhooks did not arrive")
