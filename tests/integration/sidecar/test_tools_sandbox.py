"""Sandbox calls whose agent records through the tools over HTTP, as Ultravox would."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from core.agent.models import CallOpening, OpeningMode
from core.agent.questions import ScreeningQuestion
from core.calling import dispatch, launch
from core.calling.refusals import LaunchRefused
from core.config import get_settings
from core.db import CALLS, CANDIDATES, TOOL_REQUESTS
from core.people import candidates, jobs
from core.review import store as review_store
from core.review.answers import answers_for_cli, call_answers
from core.review.timeline import transcript_messages
from core.screening.tools import call_key
from tests.support import sandbox_stack
from tests.support.sandbox_stack import Stack, make_job

stack = sandbox_stack.stack

TYPED = [
    ScreeningQuestion(text="Are you authorised to work in the US?", type="yes_no",
                      knockout={"must_be": True}),
    ScreeningQuestion(text="How many years of forklift experience do you have?", type="number",
                      unit="years", min_value=0, max_value=40, knockout={"at_least": 2}),
    ScreeningQuestion(text="Which shift would you prefer?", type="choice", options=["days", "nights"]),
    ScreeningQuestion(text="What interests you about this role?"),
]


def _finished(stack: Stack, xx: str, **config):
    # Slower than the stack's 200x: at 200x Ultravox's 50 s join timeout is a quarter of a real
    # second, which a loaded test machine can miss between the two provider requests.
    stack.sandbox.state.config.speed = 40
    stack.set_config(screening_questions=TYPED, **config)
    job = make_job(stack)
    cand = candidates.add_candidate(stack.db, stack.recruiter, name=f"Cand {xx}", consent=True,
                                    phone=f"+1 212 555 01{xx}", job_ids=[job.id], timezone="America/New_York")
    call = launch.launch_call(stack.db, stack.recruiter, cand.id).call
    stack.sandbox.wait_for(lambda: (stack.db[CALLS].find_one({"_id": call.id}) or {}).get(
        "transcript_status") == "stored", 30)
    doc = review_store.get_call(stack.db, call.id)
    messages = transcript_messages(review_store.get_transcript(stack.db, call.id))
    return job, cand, doc, call_answers(doc, messages)


def test_an_answered_call_has_every_answer_from_the_agent_typed(stack) -> None:
    _job, _cand, call, answers = _finished(stack, "03")
    tool_log = [r for r in stack.sandbox.state.received if r.get("service") == "tools"]
    played = stack.sandbox.state.ultravox_calls[call.ultravox_call_id]
    assert [a.source for a in answers] == ["agent"] * 4, (
        tool_log, call.agent_answers, [m["text"][:60] for m in played.messages],
        [t.get("toolName") or t["temporaryTool"]["modelToolName"] for t in played.data["selectedTools"]])
    assert all(a.asked for a in answers)
    assert isinstance(answers[0].value, bool) and isinstance(answers[1].value, float)
    assert answers[2].value in ("days", "nights") and answers[3].value is None and answers[3].answer
    assert answers[0].knockout_passed is answers[0].value
    assert answers[1].knockout_passed == (answers[1].value >= 2)
    assert all(a.at_seconds is not None and a.at_seconds > 0 for a in answers)
    # The stored request body never holds the call's key; what Ultravox received did.
    key = call_key(get_settings().tool_secret, call.id)
    assert "authTokens" not in str(call.request_body) and key not in str(call.request_body)
    received = stack.sandbox.received("ultravox", "create_call")[-1]["body"]
    assert key in str(received)
    assert stack.db[TOOL_REQUESTS].count_documents({"call_id": call.id, "tool": "recordAnswer"}) == 4
    # Tool calls and results appear in the messages as Ultravox lists them.
    roles = [m["role"] for m in stack.sandbox.state.ultravox_calls[call.ultravox_call_id].messages]
    assert roles.count("MESSAGE_ROLE_TOOL_CALL") == 4 == roles.count("MESSAGE_ROLE_TOOL_RESULT")


def test_a_corrected_answer_shows_the_correction(stack) -> None:
    _job, _cand, _call, answers = _finished(stack, "56")
    first = answers[0]
    assert first.source == "agent" and len(first.earlier) == 1 and first.earlier[0] != first.answer
    assert all(a.source == "agent" for a in answers)


def test_show_call_json_gives_a_corrected_answers_history(stack) -> None:
    _job, _cand, call, _answers = _finished(stack, "56")
    entries = answers_for_cli(stack.db, call)  # what `show-call --json` prints as "answers"
    first, rest = entries[0], entries[1:]
    assert all(e["history"] == [] for e in rest)
    [earlier] = first["history"]
    assert set(earlier) == {"answer", "value", "at_seconds"}
    assert earlier["answer"] and earlier["answer"] != first["answer"] and earlier["value"] != first["value"]
    # When the candidate first said it: their turn with those words, before the correction.
    said = [m for m in transcript_messages(review_store.get_transcript(stack.db, call.id))
            if m.speaker == "candidate" and m.text == earlier["answer"]]
    assert said and earlier["at_seconds"] == said[0].start_s < first["at_seconds"]


def test_the_opt_out_call_credits_no_answer_and_stops_all_calls(stack) -> None:
    _job, cand, call, answers = _finished(stack, "55")
    assert not any(a.asked for a in answers) and {a.source for a in answers} == {None}
    assert stack.db[CANDIDATES].find_one({"_id": cand.id})["do_not_call"] is True
    assert stack.db[TOOL_REQUESTS].find_one({"call_id": call.id})["tool"] == "candidateOptOut"


def test_asking_for_a_person_flags_the_candidate_for_that_job(stack) -> None:
    job, cand, call, _answers = _finished(stack, "57")
    assert call.human_requested["reason"]
    assert job.id in stack.db[CANDIDATES].find_one({"_id": cand.id})["human_requested"]
    with pytest.raises(LaunchRefused, match="asked for a person"):
        launch.launch_call(stack.db, stack.recruiter, cand.id)


def test_a_callback_tomorrow_at_three_is_stored_in_the_candidates_time(stack) -> None:
    _job, _cand, call, _answers = _finished(stack, "58")
    callback = call.callback
    assert callback["flagged"] is False and callback["when_local"].endswith("T15:00")
    local = callback["at"].astimezone(ZoneInfo("America/New_York"))
    taken = call.config_snapshot["taken_at"].astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (15, 0) and local.date() == taken.date() + timedelta(days=1)


def test_a_single_calls_callback_becomes_its_next_attempt_and_is_dialled_then(stack) -> None:
    _job, cand, call, _answers = _finished(stack, "58")
    assert call.batch_id is None and call.callback["flagged"] is False
    dispatch.run_once(stack.db, max_seconds=1)
    again = stack.db[CALLS].find_one({"_id": f"{call.id}-cb"})
    # Queued for the time asked (already inside calling hours), the same attempt: not used up.
    assert again is not None and again["status"] == "queued" and again["batch_id"] is None
    assert again["attempt"] == call.attempt and again["retry_of"] == call.id
    assert abs(again["next_attempt_at"] - call.callback["at"]) < timedelta(seconds=1)
    assert stack.db[CALLS].find_one({"_id": call.id})["retry_call_id"] == again["_id"]
    # A launch meanwhile finds the scheduled call instead of placing a second one.
    assert launch.launch_call(stack.db, stack.recruiter, cand.id).call.id == again["_id"]
    dispatch.run_once(stack.db, max_seconds=1)  # not due yet: nothing dialled
    assert stack.db[CALLS].find_one({"_id": again["_id"]})["status"] == "queued"
    dispatch.run_once(stack.db, now=call.callback["at"] + timedelta(seconds=1), max_seconds=5)
    assert stack.db[CALLS].find_one({"_id": again["_id"]})["status"] != "queued"


def test_a_voicemail_records_that_a_message_was_left(stack) -> None:
    _job, _cand, call, answers = _finished(stack, "52")
    assert call.voicemail_left is True and "AI assistant" in (call.voicemail_text or "")
    assert not any(a.asked for a in answers)


@pytest.mark.parametrize("mode", [OpeningMode.USER_FIRST, OpeningMode.AGENT_TEXT])
def test_the_sandbox_agent_speaks_the_configured_greeting_company_and_disclosure(stack, mode) -> None:
    stack.sandbox.state.config.speed = 40
    greeting = "Good morning, this is Nova calling for {{company_name}} about the {{job_title}} opening."
    stack.set_config(screening_questions=TYPED, opening=CallOpening(mode=mode, text=greeting),
        recording_disclosure="Heads up: {{company_name}} records this call for its hiring team.")
    job = jobs.create_job(stack.db, stack.recruiter, title="Dock hand", company="Zephyr Freight")
    cand = candidates.add_candidate(stack.db, stack.recruiter, name="Gina Greet", consent=True,
                                    phone="+1 212 555 0104", job_ids=[job.id], timezone="America/New_York")
    call = launch.launch_call(stack.db, stack.recruiter, cand.id).call
    stack.sandbox.wait_for(lambda: (stack.db[CALLS].find_one({"_id": call.id}) or {}).get(
        "transcript_status") == "stored", 30)
    messages = transcript_messages(review_store.get_transcript(stack.db, call.id))
    first = next(m.text for m in messages if m.speaker == "agent")
    assert "Good morning, this is Nova calling for Zephyr Freight about the Dock hand opening." in first
    assert "Heads up: Zephyr Freight records this call for its hiring team." in first
    assert "Alex" not in first
