"""The Ultravox client against the sandbox over real HTTP: every call, retries, breaker."""

from __future__ import annotations

import io
import time
import uuid
import wave
from collections.abc import Iterator

import pytest

from core.providers.resilience import CircuitBreaker, ProviderError, ProviderUnavailable, RetryPolicy
from core.providers.telephony import TwilioGateway
from core.providers.ultravox import UltravoxClient
from sandbox import SandboxConfig, SandboxHandle, start_sandbox
from tools.embedded_db.launcher import free_port

KEY = "testkey1.abcdefghijabcdefghijabcdefghij12"
CFG = dict(ultravox_api_key=KEY, ultravox_webhook_secret="whsec", twilio_account_sid="AC" + "7" * 32,
           twilio_auth_token="tok", twilio_from_number="+15005550006", webhook_base_url=None)
FAST = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2, max_retry_after=3)
PROMPT = "Screen for the Warehouse Associate role.\n1. Can you lift 50 pounds?\n2. When can you start?"


@pytest.fixture
def sandbox() -> Iterator[SandboxHandle]:
    handle = start_sandbox(free_port(), SandboxConfig(**CFG, speed=200))
    yield handle
    handle.stop()


def client(sandbox: SandboxHandle, *, key: str = KEY, timeout: float = 2.0,
           breaker: CircuitBreaker | None = None) -> UltravoxClient:
    return UltravoxClient(sandbox.base_url, key, timeout=timeout, retry=FAST,
                          breaker=breaker or CircuitBreaker("Ultravox", threshold=50))


def body(screening_id: str | None = None, **extra: object) -> dict:
    meta = {"candidateId": "cand1", "jobId": "job1"}
    if screening_id:
        meta["screeningId"] = screening_id
    return {"systemPrompt": PROMPT, "medium": {"twilio": {}}, "recordingEnabled": True,
            "joinTimeout": "90s", "maxDuration": "600s", "metadata": meta, **extra}


def play_call(sandbox: SandboxHandle, uv: UltravoxClient, number: str = "+12125550107",
              **extra: object) -> str:
    """Create an Ultravox call and dial it through Twilio in the sandbox; return the call id."""
    call = uv.create_call(body(uuid.uuid4().hex, **extra))
    gateway = TwilioGateway(CFG["twilio_account_sid"], "tok", CFG["twilio_from_number"],
                            base_url=sandbox.base_url, retry=FAST)
    gateway.place_call(number, call.join_url, time_limit_seconds=900)
    return call.call_id


def test_list_voices_follows_every_page(sandbox: SandboxHandle) -> None:
    voices = client(sandbox).list_voices(page_size=5)
    assert len(voices) == 12
    assert len({v.voice_id for v in voices}) == 12
    assert {"Mark", "Jessica"} <= {v.name for v in voices}
    assert all(v.preview_url and v.primary_language for v in voices)
    pages = sandbox.received("ultravox", "list_voices")
    assert len(pages) == 3
    assert "cursor" not in pages[0]["query"] and "cursor" in pages[1]["query"]


def test_unknown_fields_are_kept_and_missing_optional_ones_tolerated(
    sandbox: SandboxHandle,
) -> None:
    voice = client(sandbox).list_voices()[0]
    assert voice.model_extra and "definition" in voice.model_extra  # unknown field kept
    call = client(sandbox).create_call({"metadata": {"screeningId": "x"}})
    assert call.summary is None and call.ended is None and call.billed_seconds is None


def test_list_models(sandbox: SandboxHandle) -> None:
    names = [m.name for m in client(sandbox).list_models()]
    assert "ultravox-v0.7" in names


def test_create_get_and_list_calls_by_metadata(sandbox: SandboxHandle) -> None:
    uv = client(sandbox)
    created = uv.create_call(body("scr-1"), params={"enableGreetingPrompt": "false"})
    assert created.join_url and created.join_url.startswith("wss://")
    assert created.metadata == {"candidateId": "cand1", "jobId": "job1", "screeningId": "scr-1"}
    uv.create_call(body("scr-2"))
    got = uv.get_call(created.call_id)
    assert got.call_id == created.call_id and got.join_timeout == "90s"
    found = uv.list_calls(metadata={"screeningId": "scr-1"})
    assert [c.call_id for c in found] == [created.call_id]
    sent = sandbox.received("ultravox", "create_call")[0]
    assert sent["body"]["systemPrompt"] == PROMPT
    assert sent["query"] == {"enableGreetingPrompt": ["false"]}


def test_messages_all_pages_and_recording_via_redirect(sandbox: SandboxHandle) -> None:
    uv = client(sandbox)
    call_id = play_call(sandbox, uv)
    sandbox.wait_for(lambda: uv.get_call(call_id).ended, timeout=15)
    messages = uv.list_messages(call_id, page_size=3)
    assert len(messages) >= 7
    assert messages[0].role == "MESSAGE_ROLE_AGENT"  # no firstSpeakerSettings: the agent speaks first
    assert any("lift 50 pounds" in (m.text or "") for m in messages)
    queries = [r["query"] for r in sandbox.received("ultravox", "list_messages")]
    assert len(queries) == -(-len(messages) // 3)
    assert all(q.get("mode") == ["in_call"] for q in queries)

    recording = uv.get_recording(call_id)
    assert recording is not None and recording.content_type == "audio/wav"
    with wave.open(io.BytesIO(recording.content)) as w:
        assert w.getnframes() / w.getframerate() > 3  # real audio, seconds long
    media = sandbox.received("media")
    assert media and media[-1]["had_api_key"] is False  # key never sent to the storage URL


def test_recording_absent_returns_none(sandbox: SandboxHandle) -> None:
    uv = client(sandbox)
    call = uv.create_call(body("no-rec", recordingEnabled=False))
    assert uv.get_recording(call.call_id) is None


def test_end_call_hangs_up_a_live_call_and_reports_inactive_ones(sandbox: SandboxHandle) -> None:
    uv = client(sandbox)
    not_joined = uv.create_call(body("idle"))
    assert uv.end_call(not_joined.call_id) is False  # 422: not active
    slow = start_sandbox(free_port(), SandboxConfig(**CFG, speed=20))
    try:
        uv_slow = client(slow)
        call_id = play_call(slow, uv_slow)
        slow.wait_for(lambda: uv_slow.get_call(call_id).joined, timeout=10)
        assert uv_slow.end_call(call_id, "Sorry, we have to stop here.") is True
        ended = slow.wait_for(lambda: uv_slow.get_call(call_id).ended and uv_slow.get_call(call_id))
        assert ended.end_reason == "agent_hangup"
        sent = slow.received("ultravox", "send_data_message")[0]["body"]
        assert sent == {"type": "hang_up", "message": "Sorry, we have to stop here."}
    finally:
        slow.stop()


def test_wrong_key_is_a_provider_error_not_a_retry(sandbox: SandboxHandle) -> None:
    with pytest.raises(ProviderError) as info:
        client(sandbox, key="wrong.key").list_models()
    assert info.value.status == 403 and "API key" in str(info.value)
    assert len(sandbox.received("ultravox", "list_models")) == 0  # refused before the view


def test_get_retries_5xx_with_backoff_then_succeeds(sandbox: SandboxHandle) -> None:
    sandbox.inject_fault(status=503, count=2, path_prefix="/api/models")
    started = time.monotonic()
    assert client(sandbox).list_models()
    assert time.monotonic() - started >= 0.05  # it waited between attempts
    assert len(sandbox.received("ultravox", "list_models")) == 1  # 2 failed + 1 served


def test_429_retry_after_is_honoured(sandbox: SandboxHandle) -> None:
    sandbox.inject_fault(status=429, count=1, retry_after=1, path_prefix="/api/models")
    started = time.monotonic()
    client(sandbox).list_models()
    assert time.monotonic() - started >= 1.0


def test_read_timeout_is_retried(sandbox: SandboxHandle) -> None:
    sandbox.inject_fault(status=None, hang_seconds=1.5, count=1, path_prefix="/api/models")
    started = time.monotonic()
    assert client(sandbox, timeout=0.5).list_models()
    assert 0.5 <= time.monotonic() - started < 1.5


def test_persistent_failure_becomes_provider_unavailable(sandbox: SandboxHandle) -> None:
    sandbox.inject_fault(status=500, count=10, path_prefix="/api/voices")
    with pytest.raises(ProviderUnavailable, match=r"Ultravox is unavailable right now \(HTTP 500"):
        client(sandbox).list_voices()
    remaining = sandbox.state.faults[0].count
    assert remaining == 10 - FAST.attempts  # bounded: exactly `attempts` tries


def test_create_is_not_duplicated_when_the_answer_is_lost(sandbox: SandboxHandle) -> None:
    # The sandbox creates the call, then answers 500: the client must find it, not re-create.
    sandbox.inject_fault(status=500, count=1, after=True, method="POST", path_prefix="/api/calls")
    call = client(sandbox).create_call(body("lost-answer"))
    assert len(sandbox.received("ultravox", "create_call")) == 1
    assert [c["callId"] for c in _calls_with(sandbox, "lost-answer")] == [call.call_id]


def test_create_is_not_duplicated_after_a_timeout(sandbox: SandboxHandle) -> None:
    # The server takes longer than our read timeout but does create the call: the client
    # keeps looking it up (never re-sends) and returns it once it shows up.
    sandbox.inject_fault(status=None, hang_seconds=0.6, count=1, method="POST",
                         path_prefix="/api/calls")
    patient = RetryPolicy(attempts=5, base_delay=0.2, max_delay=1.0)
    uv = UltravoxClient(sandbox.base_url, KEY, timeout=0.3, retry=patient,
                        breaker=CircuitBreaker("Ultravox", threshold=50))
    call = uv.create_call(body("slow-create"))
    assert [c["callId"] for c in _calls_with(sandbox, "slow-create")] == [call.call_id]
    assert len(sandbox.received("ultravox", "create_call")) == 1
    lookups = [r for r in sandbox.received("ultravox", "list_calls")
               if r["query"].get("metadata.screeningId") == ["slow-create"]]
    assert lookups


def test_unconfirmed_create_is_reported_not_resent(sandbox: SandboxHandle) -> None:
    # No answer in time and nothing created: the client gives up without a second POST.
    sandbox.inject_fault(status=500, hang_seconds=1.0, count=1, method="POST",
                         path_prefix="/api/calls")
    with pytest.raises(ProviderUnavailable, match="not confirmed"):
        client(sandbox, timeout=0.3).create_call(body("never-made"))
    time.sleep(0.8)
    assert sandbox.state.faults[0].count == 0  # exactly one POST reached the server
    assert not _calls_with(sandbox, "never-made")


def test_create_without_screening_id_is_not_retried_after_an_ambiguous_failure(
    sandbox: SandboxHandle,
) -> None:
    sandbox.inject_fault(status=500, count=1, method="POST", path_prefix="/api/calls")
    with pytest.raises(ProviderUnavailable):
        client(sandbox).create_call(body(None))
    assert sandbox.state.faults[0].count == 0 and not sandbox.received("ultravox", "create_call")
    # ...but a 429 (certainly not processed) is retried.
    sandbox.inject_fault(status=429, retry_after=0.1, count=1, method="POST",
                         path_prefix="/api/calls")
    client(sandbox).create_call(body(None))
    assert len(sandbox.received("ultravox", "create_call")) == 1


def test_breaker_opens_then_closes_after_the_reset_time(sandbox: SandboxHandle) -> None:
    breaker = CircuitBreaker("Ultravox", threshold=3, reset_seconds=0.5)
    uv = client(sandbox, breaker=breaker)
    sandbox.inject_fault(status=500, count=100, path_prefix="/api/models")
    with pytest.raises(ProviderUnavailable):
        uv.list_models()
    assert breaker.state == "open"
    before = sandbox.state.faults[0].count
    with pytest.raises(ProviderUnavailable, match="paused after repeated failures"):
        uv.list_models()
    assert sandbox.state.faults[0].count == before  # open breaker: no request sent at all
    sandbox.clear_faults()
    time.sleep(0.55)
    assert uv.list_models()  # the half-open probe succeeds
    assert breaker.state == "closed"


def test_pagination_link_to_another_host_is_refused(sandbox: SandboxHandle) -> None:
    uv = client(sandbox)
    with pytest.raises(ProviderError, match="another host"):
        uv._url("https://evil.example/api/voices?cursor=abc")


def _calls_with(sandbox: SandboxHandle, screening_id: str) -> list[dict]:
    with sandbox.state.lock:
        return [dict(c.data) for c in sandbox.state.ultravox_calls.values()
                if c.data["metadata"].get("screeningId") == screening_id]


def test_delete_call_removes_messages_and_recording(sandbox: SandboxHandle) -> None:
    uv = client(sandbox)
    call_id = play_call(sandbox, uv)
    sandbox.wait_for(lambda: uv.get_call(call_id).ended, timeout=15)
    assert uv.get_recording(call_id) is not None
    assert uv.delete_call(call_id) is True
    assert uv.get_recording(call_id) is None
    with pytest.raises(ProviderError) as gone:
        uv.list_messages(call_id)
    assert gone.value.status == 404
    assert uv.delete_call(call_id) is False  # already gone: harmless
    assert len(sandbox.received("ultravox", "delete_call")) == 2
