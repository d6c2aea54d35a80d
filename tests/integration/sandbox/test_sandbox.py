"""The sandbox over HTTP: auth, outcomes by number, a whole call's signed webhooks, retries."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
import requests
from twilio.request_validator import RequestValidator

from core.providers.resilience import RetryPolicy
from core.providers.telephony import TwilioGateway, join_timeout_for
from core.providers.ultravox import UltravoxClient
from sandbox import SandboxConfig, SandboxHandle, start_sandbox
from sandbox.signing import verify_ultravox_signature
from sandbox.testing import WebhookReceiver
from tools.embedded_db.launcher import free_port

KEY = "sandbox1.abcdefghijabcdefghijabcdefghij12"
SECRET = "uv-webhook-secret"
SID = "AC" + "3" * 32
TOKEN = "tw-token"
FROM = "+15005550006"
FAST = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2)
PROMPT = ("You screen candidates for the Forklift Operator role.\n"
          "1. Do you hold a current forklift certification?\n"
          "2. Are you available for weekend shifts?\n"
          "- How soon could you start?\n"
          "Be polite and brief.")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    rec = WebhookReceiver(free_port()).start()
    yield rec
    rec.stop()


@pytest.fixture
def sandbox(receiver: WebhookReceiver) -> Iterator[SandboxHandle]:
    cfg = SandboxConfig(ultravox_api_key=KEY, ultravox_webhook_secret=SECRET,
                        twilio_account_sid=SID, twilio_auth_token=TOKEN,
                        twilio_from_number=FROM, webhook_base_url=receiver.base_url, speed=200)
    handle = start_sandbox(free_port(), cfg)
    yield handle
    handle.stop()


def launch(sandbox: SandboxHandle, receiver: WebhookReceiver, number: str) -> tuple[str, str]:
    """Create the Ultravox call and dial it, as the app does; returns (callId, CallSid)."""
    uv = UltravoxClient(sandbox.base_url, KEY, retry=FAST)
    call = uv.create_call({
        "systemPrompt": PROMPT, "medium": {"twilio": {}}, "recordingEnabled": True,
        "joinTimeout": join_timeout_for(45), "maxDuration": "600s",
        "firstSpeakerSettings": {"user": {}},
        "metadata": {"screeningId": uuid.uuid4().hex, "candidateId": "c1"},
    })
    tw = TwilioGateway(SID, TOKEN, FROM, base_url=sandbox.base_url,
                       webhook_base_url=receiver.base_url, retry=FAST)
    return call.call_id, tw.place_call(number, call.join_url, time_limit_seconds=660)


def events(receiver: WebhookReceiver) -> list[str]:
    return [json.loads(r.body)["event"] for r in receiver.accepted("/webhooks/ultravox")]


def twilio_statuses(receiver: WebhookReceiver) -> list[tuple[int, str]]:
    got = [(int(r.form["SequenceNumber"]), r.form["CallStatus"])
           for r in receiver.accepted("/webhooks/twilio/status")]
    return sorted(got)


def test_whole_call_life_sends_signed_webhooks_that_verify(
    sandbox: SandboxHandle, receiver: WebhookReceiver
) -> None:
    call_id, call_sid = launch(sandbox, receiver, "+12125550107")
    receiver.wait_for(lambda: "call.billed" in events(receiver), timeout=20)
    receiver.wait_for(lambda: len(twilio_statuses(receiver)) == 4)

    assert twilio_statuses(receiver) == [(0, "initiated"), (1, "ringing"), (2, "in-progress"),
                                         (3, "completed")]
    validator = RequestValidator(TOKEN)
    url = receiver.base_url + "/webhooks/twilio/status"
    for hook in receiver.accepted("/webhooks/twilio/status"):
        assert hook.form["CallSid"] == call_sid and hook.form["To"] == "+12125550107"
        assert validator.validate(url, hook.form, hook.headers["X-Twilio-Signature"])
        assert not RequestValidator("other").validate(url, hook.form,
                                                      hook.headers["X-Twilio-Signature"])
    final = next(h.form for h in receiver.accepted("/webhooks/twilio/status")
                 if h.form["CallStatus"] == "completed")
    assert int(final["CallDuration"]) > 10 and final["AnsweredBy"] == "human"

    assert events(receiver) == ["call.joined", "call.ended", "call.billed"]
    for hook in receiver.accepted("/webhooks/ultravox"):
        ts = hook.headers["X-Ultravox-Webhook-Timestamp"]
        assert datetime.fromisoformat(ts).tzinfo is not None
        assert verify_ultravox_signature(hook.body, ts, hook.headers["X-Ultravox-Webhook-Signature"],
                                         [SECRET])
        assert not verify_ultravox_signature(hook.body, ts,
                                             hook.headers["X-Ultravox-Webhook-Signature"], ["x"])
        assert json.loads(hook.body)["call"]["callId"] == call_id
    billed = json.loads(receiver.accepted("/webhooks/ultravox")[-1].body)["call"]
    assert billed["endReason"] == "agent_hangup"
    assert billed["billingStatus"] == "BILLING_STATUS_BILLED"
    seconds = int(billed["billedDuration"].rstrip("s"))
    assert seconds % 6 == 0 and seconds >= int(final["CallDuration"]) - 6
    assert "answered all 3 questions" in billed["shortSummary"]

    uv = UltravoxClient(sandbox.base_url, KEY, retry=FAST)
    texts = [m.text for m in uv.list_messages(call_id)]
    assert "Do you hold a current forklift certification?" in texts
    assert "How soon could you start?" in texts


@pytest.mark.parametrize(
    ("xx", "final_status", "end_reason"),
    [("50", "no-answer", "unjoined"), ("51", "busy", "unjoined"),
     ("54", "completed", "connection_error"), ("55", "completed", "agent_hangup")],
)
def test_outcomes_follow_the_dialled_number(
    sandbox: SandboxHandle, receiver: WebhookReceiver, xx: str, final_status: str,
    end_reason: str,
) -> None:
    call_id, call_sid = launch(sandbox, receiver, f"+1312555 01{xx}")
    receiver.wait_for(lambda: "call.billed" in events(receiver), timeout=20)
    call = sandbox.ultravox_call(call_id)
    assert call["endReason"] == end_reason
    receiver.wait_for(lambda: any(s == final_status for _, s in twilio_statuses(receiver)))
    if xx == "51":
        final = receiver.accepted("/webhooks/twilio/status")[-1].form
        assert final["SipResponseCode"] == "486"
    if xx in ("50", "51"):
        assert call["billingStatus"] == "BILLING_STATUS_FREE_ZERO_EFFECTIVE_DURATION"
        assert "call.joined" not in events(receiver)
    if xx == "55":
        texts = [m["text"] for m in sandbox.state.ultravox_calls[call_id].messages]
        assert any("don't call me again" in t for t in texts)
        assert "not to be called again" in call["shortSummary"]


def test_voicemail_is_flagged_by_answering_machine_detection(
    sandbox: SandboxHandle, receiver: WebhookReceiver
) -> None:
    launch(sandbox, receiver, "+12125550152")
    receiver.wait_for(lambda: (1, "ringing") in twilio_statuses(receiver)
                      and len(twilio_statuses(receiver)) == 4, timeout=20)
    answered = [h.form for h in receiver.accepted("/webhooks/twilio/status")
                if h.form["CallStatus"] in ("in-progress", "completed")]
    assert {f["AnsweredBy"] for f in answered} == {"machine_start"}


def test_failed_webhooks_are_retried_with_backoff(
    sandbox: SandboxHandle, receiver: WebhookReceiver
) -> None:
    # The sidecar fails two Ultravox webhooks; Ultravox retries them. (Twilio does not retry a
    # callback answered 500: see test_webhook_retries.py.)
    receiver.fail_path, receiver.fail_next = "/webhooks/ultravox", 2
    launch(sandbox, receiver, "+12125550107")
    receiver.wait_for(lambda: sorted(events(receiver)) == ["call.billed", "call.ended",
                                                           "call.joined"], timeout=20)
    receiver.wait_for(lambda: len(twilio_statuses(receiver)) == 4)
    retried = [d for d in sandbox.deliveries() if d["attempts"] > 1]
    assert retried and all(d["delivered"] and d["kind"] == "ultravox" for d in retried)
    assert sum(d["attempts"] - 1 for d in retried) == 2
    assert len(receiver.requests) == len(receiver.accepted()) + 2


def test_auth_is_checked_like_the_real_services(sandbox: SandboxHandle) -> None:
    base = sandbox.base_url
    assert requests.get(f"{base}/api/models", timeout=5).status_code == 401
    assert requests.get(f"{base}/api/models", headers={"X-API-Key": "bad"},
                        timeout=5).status_code == 403
    assert requests.get(f"{base}/api/models", headers={"Authorization": f"Bearer {KEY}"},
                        timeout=5).status_code == 401
    calls = f"{base}/2010-04-01/Accounts/{SID}/Calls.json"
    assert requests.post(calls, timeout=5).status_code == 401
    resp = requests.post(calls, auth=(SID, "wrong"), timeout=5)
    assert resp.status_code == 401 and resp.json()["code"] == 20003
    other = f"{base}/2010-04-01/Accounts/AC{'9' * 32}/Calls.json"
    assert requests.post(other, auth=(SID, TOKEN), timeout=5).status_code == 403


def test_unjoined_call_ends_after_join_timeout(sandbox: SandboxHandle,
                                                receiver: WebhookReceiver) -> None:
    uv = UltravoxClient(sandbox.base_url, KEY, retry=FAST)
    call = uv.create_call({"joinTimeout": "30s", "metadata": {"screeningId": "u"}})
    receiver.wait_for(lambda: "call.ended" in events(receiver), timeout=5)
    assert uv.get_call(call.call_id).end_reason == "unjoined"


def test_a_join_window_shorter_than_the_callers_own_work_is_not_compressed_away(
        sandbox: SandboxHandle, receiver: WebhookReceiver) -> None:
    # 50 s at 200x is 0.25 s of real time: less than a busy machine may take between creating
    # the Ultravox call and placing the Twilio call. The call must still be joinable after it.
    uv = UltravoxClient(sandbox.base_url, KEY, retry=FAST)
    call = uv.create_call({"joinTimeout": "50s", "metadata": {"screeningId": "w"}})
    time.sleep(0.6)
    assert sandbox.ultravox_call(call.call_id).get("ended") is None
    assert "call.ended" not in events(receiver)
    # It still ends by itself once the (floored) window has passed.
    receiver.wait_for(lambda: "call.ended" in events(receiver), timeout=5)
    assert uv.get_call(call.call_id).end_reason == "unjoined"


def test_voice_preview_is_real_audio(sandbox: SandboxHandle) -> None:
    voice = UltravoxClient(sandbox.base_url, KEY).list_voices()[0]
    resp = requests.get(voice.preview_url, timeout=10)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "audio/wav"
    assert resp.content[:4] == b"RIFF" and len(resp.content) > 20_000
