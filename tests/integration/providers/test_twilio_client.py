"""The Twilio gateway (official SDK) against the sandbox over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from core.people.phones import PhoneNumberError
from core.providers.resilience import CircuitBreaker, ProviderError, ProviderUnavailable, RetryPolicy
from core.providers.telephony import TwilioGateway
from sandbox import SandboxConfig, SandboxHandle, start_sandbox
from tools.embedded_db.launcher import free_port

SID = "AC" + "5" * 32
TOKEN = "twilio-test-token"
FROM = "+15005550006"
CFG = dict(ultravox_api_key="k", ultravox_webhook_secret="s", twilio_account_sid=SID,
           twilio_auth_token=TOKEN, twilio_from_number=FROM, webhook_base_url=None)
FAST = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2, max_retry_after=3)
JOIN = "wss://voice.example/calls/0b9a2a59-3d39-4bb5-8d3f-0d8c1b0f0c11/telephony?x=1&y=2"


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    handle = start_sandbox(free_port(), SandboxConfig(**CFG, speed=200))
    yield handle
    handle.stop()


def gateway(sandbox: SandboxHandle, token: str = TOKEN, timeout: float = 2.0) -> TwilioGateway:
    return TwilioGateway(SID, token, FROM, base_url=sandbox.base_url,
                         webhook_base_url="https://hooks.example.com", timeout=timeout,
                         retry=FAST, breaker=CircuitBreaker("Twilio", threshold=50),
                         default_ring_timeout=30)


def test_place_call_sends_exact_twiml_and_callbacks(sandbox: SandboxHandle) -> None:
    sid = gateway(sandbox).place_call("(212) 555-0107", JOIN, time_limit_seconds=660)
    assert sid.startswith("CA")
    [sent] = sandbox.received("twilio", "create_call")
    assert sent["path"] == f"/2010-04-01/Accounts/{SID}/Calls.json"
    assert sent["twiml"] == (
        '<Response><Connect><Stream url="wss://voice.example/calls/'
        '0b9a2a59-3d39-4bb5-8d3f-0d8c1b0f0c11/telephony?x=1&amp;y=2"/></Connect></Response>'
    )
    params = sent["params"]
    assert params["To"] == ["+12125550107"] and params["From"] == [FROM]
    assert params["StatusCallback"] == ["https://hooks.example.com/webhooks/twilio/status"]
    assert params["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    assert params["Timeout"] == ["30"] and params["TimeLimit"] == ["660"]
    assert params["MachineDetection"] == ["Enable"]


def test_fetch_call_reads_status_and_a_late_negative_price() -> None:
    slow = start_sandbox(free_port(), SandboxConfig(**CFG, speed=20))
    try:
        gw = gateway(slow)
        sid = gw.place_call("+12125550111", JOIN, time_limit_seconds=600)
        first = gw.fetch_call(sid)
        assert first.status in ("queued", "ringing") and first.price is None
        assert first.duration is None
        # No Ultravox call behind this joinUrl: answered, stream fails, Twilio hangs up.
        done = slow.wait_for(lambda: (c := gw.fetch_call(sid)).status == "completed" and c)
        assert done.duration is not None and done.duration >= 1
        assert done.price is None  # Twilio prices a call a little after it completes
        priced = slow.wait_for(lambda: (c := gw.fetch_call(sid)).price is not None and c)
        assert priced.price < Decimal(0) and priced.price_unit == "USD"
    finally:
        slow.stop()


def test_end_call_cancels_a_ringing_call(sandbox: SandboxHandle) -> None:
    slow = start_sandbox(free_port(), SandboxConfig(**CFG, speed=2))
    try:
        gw = gateway(slow)
        sid = gw.place_call("+12125550150", JOIN, time_limit_seconds=600)  # 50: never answers
        slow.wait_for(lambda: slow.twilio_call(sid)["status"] == "ringing", timeout=5)
        assert gw.end_call(sid) == "canceled"
        updates = slow.received("twilio", "update_call")
        assert updates[0]["params"]["Status"] == ["canceled"]
        assert gw.end_call(sid) == "canceled"  # idempotent: an ended call stays as it is
        assert len(slow.received("twilio", "update_call")) == 1
    finally:
        slow.stop()


def test_end_call_completes_an_answered_call(sandbox: SandboxHandle) -> None:
    slow = start_sandbox(free_port(), SandboxConfig(**CFG, speed=5))
    try:
        gw = gateway(slow)
        sid = gw.place_call("+12125550107", JOIN, time_limit_seconds=600)
        slow.wait_for(lambda: slow.twilio_call(sid)["status"] == "in-progress", timeout=5)
        assert gw.end_call(sid) == "completed"
    finally:
        slow.stop()


@pytest.mark.parametrize("bad", ["", "call me", "12", "+999 555", "020 7946 0958"])
def test_bad_numbers_are_rejected_before_any_request(sandbox: SandboxHandle, bad: str) -> None:
    with pytest.raises(PhoneNumberError):
        gateway(sandbox).place_call(bad, JOIN, time_limit_seconds=600)
    assert sandbox.received() == []


def test_rejected_number_is_a_twilio_error(sandbox: SandboxHandle) -> None:
    with pytest.raises(ProviderError) as info:
        gateway(sandbox).place_call("+12125550153", JOIN, time_limit_seconds=600)
    assert info.value.code == 21217 and info.value.status == 400
    assert "does not appear to be valid" in str(info.value)


def test_wrong_credentials_are_refused(sandbox: SandboxHandle) -> None:
    with pytest.raises(ProviderError) as info:
        gateway(sandbox, token="nope").fetch_call("CA" + "0" * 32)
    assert info.value.status == 401 and "credentials" in str(info.value)


def test_create_5xx_is_not_retried_blindly(sandbox: SandboxHandle) -> None:
    sandbox.inject_fault(status=500, count=1, method="POST", path_prefix="/2010-04-01/")
    with pytest.raises(ProviderUnavailable, match="Twilio is unavailable"):
        gateway(sandbox).place_call("+12125550107", JOIN, time_limit_seconds=600)
    assert sandbox.state.faults[0].count == 0  # one POST only
    assert sandbox.received("twilio", "create_call") == []


def test_create_429_is_retried_after_retry_after(sandbox: SandboxHandle) -> None:
    sandbox.inject_fault(status=429, retry_after=1, count=1, method="POST",
                         path_prefix="/2010-04-01/")
    started = time.monotonic()
    gateway(sandbox).place_call("+12125550107", JOIN, time_limit_seconds=600)
    assert time.monotonic() - started >= 1.0
    assert len(sandbox.received("twilio", "create_call")) == 1


def test_fetch_retries_5xx_and_timeouts(sandbox: SandboxHandle) -> None:
    gw = gateway(sandbox, timeout=0.5)
    sid = gw.place_call("+12125550107", JOIN, time_limit_seconds=600)
    sandbox.inject_fault(status=503, count=1, method="GET", path_prefix="/2010-04-01/")
    sandbox.inject_fault(status=None, hang_seconds=1.0, count=1, method="GET",
                         path_prefix="/2010-04-01/")
    assert gw.fetch_call(sid).sid == sid
    assert all(f.count == 0 for f in sandbox.state.faults)


def test_delete_call_removes_the_record(sandbox: SandboxHandle) -> None:
    gw = gateway(sandbox)
    sid = gw.place_call("+12125550151", JOIN, time_limit_seconds=600)  # 51: busy
    sandbox.wait_for(lambda: gw.fetch_call(sid).status == "busy", timeout=10)
    assert gw.delete_call(sid) is True
    with pytest.raises(ProviderError) as gone:
        gw.fetch_call(sid)
    assert gone.value.status == 404
    assert gw.delete_call(sid) is False
