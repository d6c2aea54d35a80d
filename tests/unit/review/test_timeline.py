"""One call's life on the review page: event-log lines, the timeline, transcript turns (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.review.models import StoredTranscript
from core.review.timeline import TIMELINE_STEPS, event_entry, timeline, transcript_messages
from tests.factories import call as build_call
from tests.factories import event
from tests.support.review_seed import T0 as SEEDED_AT
from tests.support.review_seed import provider_events, screened_call
from tests.support.visible_text import engineer_speak

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _event(provider: str, kind: str, seconds: int, payload: dict | None = None, **extra):
    return event(
        id=f"{provider}-{kind}-{seconds}",
        provider=provider,
        kind=kind,
        payload=payload or {},
        received_at=T0 + timedelta(seconds=seconds),
        **extra,
    )


def test_twilio_and_ultravox_events_as_log_lines():
    answered = event_entry(_event("twilio", "in-progress", 5, {"AnsweredBy": "human", "CallDuration": "42"}))
    assert (answered.step, answered.detail) == ("answered", "Phone: answered by a person, after 0:42")
    assert answered.at == answered.received_at == T0 + timedelta(seconds=5) and answered.source == "webhook"
    ended = event_entry(
        _event(
            "ultravox",
            "call.ended",
            60,
            {"call": {"endReason": "hangup", "billedDuration": "60s"}},
            source="poll",
        )
    )
    assert (ended.step, ended.detail, ended.source) == (
        "ended",
        "Agent: the conversation ended (the candidate hung up), 1:00 billed",
        "poll",
    )
    assert not engineer_speak(answered.detail) and not engineer_speak(ended.detail)
    odd = event_entry(_event("twilio", "something-new", 1, occurred_at=T0))
    assert (odd.step, odd.at) == ("something-new", T0)  # the provider's time first


def test_timeline_takes_the_earliest_event_then_the_times_on_the_call():
    call = build_call(
        id="c1", created_at=T0, dialed_at=T0 + timedelta(seconds=1), ended_at=T0 + timedelta(minutes=3)
    )
    events = [
        event_entry(_event("twilio", "ringing", 9)),
        event_entry(_event("twilio", "ringing", 3)),
        event_entry(_event("ultravox", "call.started", 4)),  # not a timeline step
        event_entry(_event("ultravox", "call.joined", 6)),
    ]
    steps = timeline(call, events)
    assert [s.step for s in steps] == ["queued", "dialled", "ringing", "answered", "ended"]
    assert steps[2].at == T0 + timedelta(seconds=3) and steps[2].detail == "Phone: the phone is ringing"
    assert (steps[0].at, steps[0].detail) == (T0, "written on the call record")
    assert all(s.step in TIMELINE_STEPS for s in steps)


def test_billing_and_price_without_events():
    billed = build_call(
        id="c1",
        created_at=None,
        billing_status="BILLING_STATUS_BILLED",
        billed_duration_seconds=120.0,
        telephony_price="0.0130",
        price_unit="USD",
    )
    steps = {s.step: s for s in timeline(billed, [])}
    assert steps["billed"].detail == "AI time billed: 2:00" and steps["billed"].at is None
    assert steps["priced"].detail == "Phone cost: 0.013 USD"
    unknown = build_call(id="c2", created_at=None, billing_status="BILLING_STATUS_FREE")
    assert timeline(unknown, [])[0].detail == "AI time not charged: length unknown"  # never written
    assert not any(engineer_speak(s.detail) for s in timeline(billed, []))


def test_price_detail_replaces_the_priced_events_detail():
    call = build_call(id="c1", created_at=None, priced_at=T0, telephony_price="0.02", price_unit=None)
    (priced,) = timeline(call, [])
    assert (priced.step, priced.at, priced.detail) == ("priced", T0, "Phone cost: 0.02")


def test_transcript_turns_by_speaker_and_bounded():
    stored = StoredTranscript.model_validate(
        {
            "_id": "c1",
            "messages": [
                {"role": "agent", "text": "Hi", "start_s": 0.0, "end_s": 1.0},
                {"role": "user", "text": None, "start_s": 1.5},
                {"role": "tool_call", "text": "lookup"},
            ],
        }
    )
    turns = transcript_messages(stored)
    assert [(m.speaker, m.text) for m in turns] == [("agent", "Hi"), ("candidate", ""), ("tool", "lookup")]
    assert turns[0].end_s == 1.0 and turns[2].start_s is None
    assert transcript_messages(None) == []
    assert transcript_messages(StoredTranscript.model_validate({"_id": "c2", "messages": None})) == []
    many = StoredTranscript.model_validate({"_id": "c3", "messages": [{"role": "user", "text": "x"}] * 6000})
    assert len(transcript_messages(many)) == 5000


def test_a_screened_calls_events_and_times_make_its_whole_timeline():
    call = screened_call("cand1", "job1", telephony_price="0.0130", price_unit="USD")
    steps = timeline(call, [event_entry(e) for e in provider_events(call)])
    assert [s.step for s in steps] == [
        "queued", "dialled", "ringing", "answered", "ended", "billed", "priced"
    ]
    assert steps[2].at == SEEDED_AT + timedelta(seconds=2)
    assert steps[-1].detail == "Phone cost: 0.013 USD"
