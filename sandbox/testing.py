"""Test helper: a tiny local HTTP receiver standing in for the webhook sidecar."""

from __future__ import annotations

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
    """Records every POST; answers `fail_next` requests with 500 first (to exercise retries)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.requests: list[ReceivedWebhook] = []
        self.fail_next = 0
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", port, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)

    def _app(self, environ: dict[str, Any], start_response: Callable) -> Any:
        request = Request(environ)
        body = request.get_data(cache=True)
        item = ReceivedWebhook(request.path, dict(request.headers), body,
                               request.form.to_dict() if request.form else {})
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                item.headers["X-Test-Answered"] = "500"
                self.requests.append(item)
                return Response("try again", status=500)(environ, start_response)
            self.requests.append(item)
        return Response(status=204)(environ, start_response)

    def start(self) -> WebhookReceiver:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
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
