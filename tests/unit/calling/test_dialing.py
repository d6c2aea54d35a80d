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


def test_the_body_carries_the_tools_with_the_calls_key_and_the_stored_copy_does_not():
    from core.screening import tools

    snapshot = {"ultravox": {"selectedTools": [{"toolName": "hangUp"}]},
                "config": {"screening_questions": [{"text": "a"}, {"text": "b"}]}}
    key = tools.call_key(b"k" * 40, "c1")
    body = build_request_body(snapshot, call_id="c1", candidate_id="cand1", job_id="job1", ring_timeout=5,
                              tool_base_url="https://hooks.example.com/", tool_key=key)
    selected = body["selectedTools"]
    assert selected[0] == {"toolName": "hangUp"}
    defs = {t["temporaryTool"]["modelToolName"]: t for t in selected[1:]}
    # The consent tool only when the agent must ask (core.compliance.recording_consent).
    assert set(defs) == set(tools.TOOL_NAMES) - {tools.RECORDING_CONSENT}
    asking = build_request_body(snapshot, call_id="c1", candidate_id="cand1", job_id="job1", ring_timeout=5,
                                tool_key=key, recording_consent=True)
    consent = next(t for t in asking["selectedTools"][1:]
                   if t["temporaryTool"]["modelToolName"] == tools.RECORDING_CONSENT)
    assert consent["authTokens"] == {"toolKey": key}
    assert consent["temporaryTool"]["dynamicParameters"][0]["name"] == "granted"
    record = defs["recordAnswer"]
    assert record["authTokens"] == {"toolKey": key} and key != "k" * 40
    temp = record["temporaryTool"]
    assert temp["http"] == {"baseUrlPattern": "https://hooks.example.com/tools/recordAnswer",
                            "httpMethod": "POST"}
    assert temp["staticParameters"] == [{"name": "screeningId", "location": "PARAMETER_LOCATION_BODY",
                                         "value": "c1"}]
    assert temp["automaticParameters"][0]["knownValue"] == "KNOWN_PARAM_CALL_ID"
    assert temp["requirements"]["httpSecurityOptions"]["options"][0]["requirements"] == {
        "toolKey": {"headerApiKey": {"name": "X-Tool-Key"}}}
    assert temp["timeout"] == "5s"
    assert temp["dynamicParameters"][0]["schema"]["enum"] == [1, 2]
    stored = tools.without_auth_tokens(body)
    assert key not in repr(stored) and "authTokens" not in repr(stored) and key in repr(body)
    assert tools.key_matches(b"k" * 40, "c1", key) and not tools.key_matches(b"k" * 40, "c2", key)
