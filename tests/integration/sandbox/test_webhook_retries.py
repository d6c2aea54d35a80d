"""The sandbox retries failed webhooks as the providers document it, every attempt on record.

Twilio (default connection overrides rc=1, rt=tt=15 s): one retry, only after a connection
failure or a timeout, within the total time; an HTTP answer (5xx included) is never retried.
Ultravox: a non-2xx answer, a timeout or a connection error is retried 10 times, the first
retry 30 s later and each next delay doubled, all scaled by the sandbox speed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from sandbox import SandboxConfig, SandboxHandle, start_sandbox
from sandbox.player import send_ultravox_webhook
from sandbox.state import UltravoxCall
from sandbox.testing import WebhookReceiver
from tools.embedded_db.launcher import free_port

SID = "AC" + "7" * 32
TOKEN = "tw-token"
FROM = "+15005550006"
STATUS_PATH = "/webhooks/twilio/status"
ULTRAVOX_PATH = "/webhooks/ultravox"
SLACK = 0.4  # seconds a retry may come later than scheduled (thread wake-up; 0.15 s failed once
#               on this 2-core machine while a whole test suite ran beside it)

StartSandbox = Callable[..., SandboxHandle]


def config(receiver: WebhookReceiver, **overrides: Any) -> SandboxConfig:
    """A sandbox config sending webhooks to `receiver`, at speed 200 unless overridden."""
    values: dict[str, Any] = {
        "ultravox_api_key": "sandbox2.abcdefghijabcdefghijabcdefghij12",
        "ultravox_webhook_secret": "uv-secret", "twilio_account_sid": SID,
        "twilio_auth_token": TOKEN, "twilio_from_number": FROM,
        "webhook_base_url": receiver.base_url, "speed": 200}
    return SandboxConfig(**{**values, **overrides})


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    rec = WebhookReceiver(free_port()).start()
    yield rec
    rec.stop()


@pytest.fixture
def start(receiver: WebhookReceiver) -> Iterator[StartSandbox]:
    """Start sandboxes with config overrides; all stopped at the end."""
    handles: list[SandboxHandle] = []

    def _start(**overrides: Any) -> SandboxHandle:
        handles.append(start_sandbox(free_port(), config(receiver, **overrides)))
        return handles[-1]

    yield _start
    for handle in handles:
        if not handle.state.stopping.is_set():
            handle.stop()


def dial_busy(sandbox: SandboxHandle, callback_url: str) -> str:
    """Place a call to the sandbox's busy number; Twilio then sends one `completed` callback."""
    resp = requests.post(f"{sandbox.base_url}/2010-04-01/Accounts/{SID}/Calls.json",
                         auth=(SID, TOKEN), timeout=5,
                         data={"To": "+12125550151", "From": FROM, "Twiml": "<Response/>",
                               "StatusCallback": callback_url})
    assert resp.status_code == 201, resp.text
    return resp.json()["sid"]


def settled(sandbox: SandboxHandle, kind: str, timeout: float = 10.0) -> dict[str, Any]:
    """The only delivery of `kind`, once it is no longer pending."""
    def done() -> dict[str, Any] | None:
        items = [d for d in sandbox.deliveries() if d["kind"] == kind]
        return items[0] if len(items) == 1 and items[0]["outcome"] != "pending" else None
    return sandbox.wait_for(done, timeout=timeout)


def send_ultravox(sandbox: SandboxHandle, event: str = "call.ended") -> None:
    """Have the sandbox send one Ultravox webhook, as it does when a call ends."""
    send_ultravox_webhook(sandbox.state, event, UltravoxCall(data={"callId": "c-retry"}))


def gaps(delivery: dict[str, Any]) -> list[float]:
    """Seconds between the starts of consecutive attempts."""
    times = [t["at"] for t in delivery["tries"]]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


# -- defaults -------------------------------------------------------------------------------


def test_defaults_follow_the_documented_numbers(receiver: WebhookReceiver) -> None:
    cfg = config(receiver, speed=1)
    assert cfg.ultravox_webhook_tries == 11  # 10 retries
    assert cfg.twilio_webhook_tries == 2  # rc=1
    assert cfg.twilio_timeouts() == (5.0, 15.0, 15.0)  # ct, rt, tt
    assert config(receiver, speed=2).twilio_timeouts() == (5.0, 7.5, 7.5)
    # Sped up a lot, the timeouts stop at the floor rather than failing a healthy receiver.
    assert config(receiver, speed=200).twilio_timeouts() == (5.0, 5.0, 5.0)
    assert config(receiver, twilio_read_timeout=0.3).twilio_timeouts()[1] == 0.3


# -- Twilio ---------------------------------------------------------------------------------


def test_twilio_callback_answered_2xx_is_sent_once(start: StartSandbox,
                                                  receiver: WebhookReceiver) -> None:
    sandbox = start()
    dial_busy(sandbox, receiver.base_url + STATUS_PATH)
    delivery = settled(sandbox, "twilio")
    assert delivery["outcome"] == "delivered" and delivery["attempts"] == 1
    assert [t["status"] for t in delivery["tries"]] == [204]
    assert [r.form["CallStatus"] for r in receiver.requests] == ["busy"]


@pytest.mark.parametrize("status", [500, 503])
def test_twilio_does_not_retry_an_http_error(start: StartSandbox, receiver: WebhookReceiver,
                                            status: int) -> None:
    receiver.fail_next, receiver.fail_status = 5, status
    sandbox = start()
    dial_busy(sandbox, receiver.base_url + STATUS_PATH)
    delivery = settled(sandbox, "twilio")
    assert delivery["outcome"] == "failed" and not delivery["delivered"]
    assert [(t["status"], t["error"]) for t in delivery["tries"]] == [(status, None)]
    assert len(receiver.requests) == 1 and receiver.fail_next == 4


def test_twilio_retries_once_when_the_connection_drops(start: StartSandbox,
                                                      receiver: WebhookReceiver) -> None:
    receiver.drop_next = 1
    sandbox = start()
    dial_busy(sandbox, receiver.base_url + STATUS_PATH)
    delivery = settled(sandbox, "twilio")
    assert delivery["outcome"] == "delivered" and delivery["attempts"] == 2
    first, second = delivery["tries"]
    assert first["status"] is None and first["error"].startswith("connection")
    assert second["status"] == 204
    assert [r.headers.get("X-Test-Answered") for r in receiver.requests] == ["dropped", None]


def test_twilio_retries_a_refused_connection_once_then_gives_up(start: StartSandbox) -> None:
    sandbox = start()
    dial_busy(sandbox, f"http://127.0.0.1:{free_port()}{STATUS_PATH}")  # nobody listens
    delivery = settled(sandbox, "twilio")
    assert delivery["outcome"] == "failed" and delivery["attempts"] == 2
    assert all(t["error"].startswith("connection") for t in delivery["tries"])


def test_twilio_retries_once_after_a_read_timeout(start: StartSandbox,
                                                 receiver: WebhookReceiver) -> None:
    receiver.hang_next, receiver.hang_seconds = 1, 5.0
    sandbox = start(twilio_read_timeout=0.3, twilio_total_time=5.0)
    dial_busy(sandbox, receiver.base_url + STATUS_PATH)
    delivery = settled(sandbox, "twilio")
    assert delivery["outcome"] == "delivered" and delivery["attempts"] == 2
    first, second = delivery["tries"]
    assert first["error"] == "timeout" and 0.3 <= first["seconds"] < 0.3 + SLACK
    assert second["status"] == 204
    assert [r.headers.get("X-Test-Answered") for r in receiver.requests] == ["late", None]


def test_twilio_retry_must_fit_in_the_total_time(start: StartSandbox,
                                                receiver: WebhookReceiver) -> None:
    # rt == tt, as in Twilio's defaults: a first attempt that times out spends the whole budget.
    receiver.hang_next, receiver.hang_seconds = 2, 5.0
    sandbox = start(twilio_read_timeout=0.3, twilio_total_time=0.3)
    dial_busy(sandbox, receiver.base_url + STATUS_PATH)
    delivery = settled(sandbox, "twilio")
    assert delivery["outcome"] == "failed" and delivery["attempts"] == 1
    assert delivery["tries"][0]["error"] == "timeout"
    assert len(receiver.requests) == 1


# -- Ultravox -------------------------------------------------------------------------------


@pytest.mark.parametrize("fail_status", [500, 400])
def test_ultravox_retries_failures_with_doubling_delays(start: StartSandbox,
                                                       receiver: WebhookReceiver,
                                                       fail_status: int) -> None:
    # Any non-2xx is a failure for Ultravox, a 4xx as much as a 5xx.
    receiver.fail_next, receiver.fail_status = 3, fail_status
    sandbox = start(speed=200)
    send_ultravox(sandbox)
    delivery = settled(sandbox, "ultravox")
    assert delivery["outcome"] == "delivered" and delivery["attempts"] == 4
    assert [t["status"] for t in delivery["tries"]] == [fail_status] * 3 + [204]
    expected = [30 / 200, 60 / 200, 120 / 200]  # 0.15 s, 0.3 s, 0.6 s
    for gap, want in zip(gaps(delivery), expected, strict=True):
        assert want <= gap < want + SLACK, (gaps(delivery), expected)
    assert len(receiver.accepted(ULTRAVOX_PATH)) == 1 and len(receiver.requests) == 4


@pytest.mark.parametrize("mode", ["drop", "hang"])
def test_ultravox_retries_dropped_and_timed_out_deliveries(start: StartSandbox,
                                                          receiver: WebhookReceiver,
                                                          mode: str) -> None:
    setattr(receiver, f"{mode}_next", 1)
    sandbox = start(speed=200, ultravox_webhook_timeout=0.3)
    send_ultravox(sandbox)
    delivery = settled(sandbox, "ultravox")
    assert delivery["outcome"] == "delivered" and delivery["attempts"] == 2
    first = delivery["tries"][0]
    if mode == "hang":
        assert first["error"] == "timeout"
    else:
        assert first["error"].startswith("connection")
    # The retry waits 30 s (simulated) after the failed attempt ended.
    assert gaps(delivery)[0] >= first["seconds"] + 30 / 200


def test_ultravox_gives_up_after_eleven_attempts(start: StartSandbox,
                                                receiver: WebhookReceiver) -> None:
    receiver.fail_next = 1000  # the receiver never recovers
    speed = 10_000  # 30 s ... 7680 s of delays become 3 ms ... 0.768 s, about 3 s in all
    sandbox = start(speed=speed)
    send_ultravox(sandbox)
    delivery = settled(sandbox, "ultravox", timeout=20)
    assert delivery["outcome"] == "failed" and not delivery["delivered"]
    assert delivery["attempts"] == 11 and [t["status"] for t in delivery["tries"]] == [500] * 11
    expected = [30 * 2 ** n / speed for n in range(10)]
    for gap, want in zip(gaps(delivery), expected, strict=True):
        assert want <= gap < want + SLACK, (gaps(delivery), expected)
    assert len(receiver.requests) == 11


def test_a_stopped_sandbox_stops_retrying(start: StartSandbox, receiver: WebhookReceiver) -> None:
    receiver.fail_next = 1000
    sandbox = start(speed=200)  # the delays would run for about 2.5 minutes
    send_ultravox(sandbox)
    sandbox.wait_for(lambda: sandbox.deliveries()[0]["attempts"] >= 3, timeout=5)
    sandbox.stop()
    delivery = settled(sandbox, "ultravox", timeout=2)
    assert delivery["outcome"] == "stopped"
    assert delivery["attempts"] == len(receiver.requests) < 11
