"""Start the sandbox: in the foreground (`python -m sandbox`) or in a thread for tests."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox.app import create_app
from sandbox.settings import environment, sandbox_port, sandbox_values
from sandbox.state import SandboxConfig, SandboxState, wait_until

log = logging.getLogger(__name__)


def config_from_env(**overrides: Any) -> SandboxConfig:
    """Sandbox credentials and webhook target from the environment (what the clients use)."""
    return SandboxConfig(**{**sandbox_values(), **overrides})


@dataclass
class SandboxHandle:
    """A running sandbox: where it listens, what it received, and how to stop it."""

    base_url: str
    state: SandboxState
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        """Stop serving and end all call playback."""
        self.state.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def received(self, service: str | None = None, op: str | None = None) -> list[dict[str, Any]]:
        """Requests the sandbox received (optionally of one service / operation)."""
        with self.state.lock:
            return [dict(r) for r in self.state.received
                    if (service is None or r["service"] == service)
                    and (op is None or r["op"] == op)]

    def deliveries(self) -> list[dict[str, Any]]:
        """Webhooks the sandbox sent (or tried to): outcome, and each attempt's time and result."""
        return self.state.delivery_snapshot()

    def inject_fault(self, **spec: Any) -> None:
        """Same as POST /_sandbox/faults (status, count, retry_after, hang_seconds, ...)."""
        resp = requests.post(f"{self.base_url}/_sandbox/faults", json=spec, timeout=5)
        resp.raise_for_status()

    def clear_faults(self) -> None:
        """Remove every injected fault."""
        with self.state.lock:
            self.state.faults.clear()

    def ultravox_call(self, call_id: str) -> dict[str, Any]:
        """The current JSON of a simulated Ultravox call."""
        with self.state.lock:
            return dict(self.state.ultravox_calls[call_id].data)

    def twilio_call(self, sid: str) -> dict[str, Any]:
        """The current resource of a simulated Twilio call."""
        with self.state.lock:
            return dict(self.state.twilio_calls[sid].data)

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Poll `predicate` until it returns something truthy; raise TimeoutError otherwise."""
        return wait_until(predicate, timeout, "sandbox condition not reached")


def start_sandbox(port: int, config: SandboxConfig | None = None,
                  host: str = "127.0.0.1") -> SandboxHandle:
    """Serve the sandbox on host:port in a background thread (threaded server)."""
    state = SandboxState(config or config_from_env())
    server = make_server(host, port, create_app(state), threaded=True)
    server.daemon_threads = True  # a hanging (fault-injected) request must not block stop()
    # A short poll interval keeps stop() quick (tests start and stop many sandboxes).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="sandbox-http", daemon=True)
    thread.start()
    return SandboxHandle(f"http://{host}:{port}", state, server, thread)


def main() -> None:
    """Run the sandbox in the foreground on SANDBOX_PORT until interrupted."""
    env = environment()
    logging.basicConfig(level=env.get("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # request lines carry numbers
    if env.get("PROVIDER_MODE", "").strip().lower() == "live":
        raise SystemExit("PROVIDER_MODE is live: the sandbox is not used.")
    config = config_from_env()
    handle = start_sandbox(sandbox_port(env), config)
    log.info("Sandbox Ultravox + Twilio listening on %s (speed x%s), webhooks to %s",
             handle.base_url, config.speed, config.webhook_base_url)
    try:
        while handle.thread.is_alive():
            handle.thread.join(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()
