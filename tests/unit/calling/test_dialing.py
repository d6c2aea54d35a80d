"""The Ultravox create-call body built from a call's settings snapshot (pure)."""

from __future__ import annotations

from core.calling.dialing import build_request_body


def test_the_body_adds_the_medium_our_ids_and_a_join_timeout_covering_the_ring():
    snapshot = {"ultravox": {"systemPrompt": "You are Alex.", "maxDuration": "900s"}}
    body = build_request_body(snapshot, call_id="c1", candidate_id="cand1", job_id="job1", ring_timeout=5)
    assert body["medium"] == {"twilio": {}}
    assert body["metadata"] == {"screeningId": "c1", "candidateId": "cand1", "jobId": "job1"}
    assert body["joinTimeout"] == "50s"  # ring timeout 5 s + slack
    assert (body["systemPrompt"], body["maxDuration"]) == ("You are Alex.", "900s")
    assert snapshot == {"ultravox": {"systemPrompt": "You are Alex.", "maxDuration": "900s"}}  # untouched
