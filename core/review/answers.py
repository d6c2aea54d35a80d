"""A call's answers, one per question of its own snapshot: typed value, source, knockout.

The agent's recorded answers come first; a question it recorded nothing for falls back to
the transcript matcher, labelled "matched from the transcript — check".
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from core import crypto
from core.agent.questions import guess_value, knockout_passed
from core.db import Database
from core.documents.call import AgentAnswer, Call
from core.documents.status import CallStatus
from core.review import store
from core.review.answer_matching import question_answers, screening_questions
from core.review.models import EarlierAnswer, Message, QuestionAnswer
from core.review.timeline import transcript_messages
from core.screening.tools import RECORD_ANSWER


def _reached_voicemail(call: Call) -> bool:
    return call.status == CallStatus.VOICEMAIL or str(call.answered_by or "").startswith("machine")


def call_answers(call: Call, messages: list[Message]) -> list[QuestionAnswer]:
    """Every question of the call's snapshot, in order, with its answer (or none)."""
    questions = screening_questions(call)
    voicemail_text = str((call.config_snapshot.get("spoken") or {}).get("voicemail_message") or "")
    found = question_answers(questions, messages, voicemail_text=voicemail_text,
                             voicemail=_reached_voicemail(call))
    out = []
    for q, answer in zip(questions, found, strict=True):
        recorded = call.agent_answers.get(q.id)
        if recorded is not None:
            out.append(_from_agent(call, answer, recorded, messages))
            continue
        if answer.source == "transcript" and q.spec is not None:
            value = guess_value(q.spec, answer.answer)
            answer = replace(answer, value=value, knockout_passed=knockout_passed(q.spec, value))
        out.append(answer)
    return out


def _tool_question(message: Message) -> int | None:
    if message.speaker != "tool" or message.tool != RECORD_ANSWER:
        return None
    try:
        args = json.loads(message.text)
    except (ValueError, TypeError):
        return None
    number = args.get("question") if isinstance(args, dict) else None
    return int(number) if isinstance(number, int | str) and str(number).isdigit() else None


def _tool_answer_text(message: Message) -> str:
    try:
        args = json.loads(message.text)
    except (ValueError, TypeError):
        return ""
    text = args.get("answer_text") if isinstance(args, dict) else None
    return " ".join(str(text).split()) if isinstance(text, str | int | float) else ""


def earlier_answered_at(call: Call, number: int, earlier: dict[str, Any],
                        messages: list[Message]) -> float | None:
    """When the candidate gave an answer they later corrected: the start of their last turn
    before the recordAnswer call that carried those words (a refused value also shows as a
    tool call, so calls are matched by words, not counted); else arrival minus join time."""
    words = " ".join(_readable(str(earlier.get("answer") or "")).split())
    calls = [i for i, m in enumerate(messages) if _tool_question(m) == number and words
             and _tool_answer_text(m) == words]
    if calls:
        before = [m for m in messages[: calls[-1]] if m.speaker == "candidate" and m.text.strip()]
        if before and before[-1].start_s is not None:
            return before[-1].start_s
    at = AgentAnswer.model_validate({"at": earlier.get("at")}).at if earlier.get("at") else None
    if at and call.joined_at:
        return max(0.0, round((at - call.joined_at).total_seconds(), 1))
    return None


def answered_at(call: Call, number: int, recorded: AgentAnswer, messages: list[Message]) -> float | None:
    """When the candidate gave a recorded answer: the start of their last turn before the
    agent's (last) recordAnswer call for that question; else arrival time minus join time."""
    calls = [i for i, m in enumerate(messages) if _tool_question(m) == number]
    if calls:
        before = [m for m in messages[: calls[-1]] if m.speaker == "candidate" and m.text.strip()]
        if before and before[-1].start_s is not None:
            return before[-1].start_s
    if recorded.at and call.joined_at:
        return max(0.0, round((recorded.at - call.joined_at).total_seconds(), 1))
    return None


def _from_agent(call: Call, base: QuestionAnswer, recorded: AgentAnswer,
                messages: list[Message]) -> QuestionAnswer:
    spec = next((q.spec for q in screening_questions(call) if q.id == base.question_id), None)
    value = recorded.value
    return replace(
        base, asked=True, answer=_readable(recorded.answer), value=value, source="agent",
        at_seconds=answered_at(call, base.number, recorded, messages),
        knockout_passed=knockout_passed(spec, value) if spec is not None else None,
        earlier=tuple(_readable(str(e.get("answer") or "")) for e in recorded.earlier),
        history=tuple(EarlierAnswer(answer=_readable(str(e.get("answer") or "")), value=e.get("value"),
                                    at_seconds=earlier_answered_at(call, base.number, e, messages))
                      for e in recorded.earlier if isinstance(e, dict)),
    )


def _readable(text: str) -> str:
    # Stored encrypted when a key is set; a key removed too early must not break the page.
    try:
        return crypto.decrypt(text) or ""
    except crypto.CryptoError:
        return "(cannot be decrypted: check DATA_ENCRYPTION_KEY and DATA_ENCRYPTION_OLD_KEYS)"


def _json_value(value: Any) -> Any:
    # Whole numbers read as such ("3", not "3.0") in the Contract's JSON.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def contract_entry(answer: QuestionAnswer) -> dict[str, Any]:
    """One answer as `show-call --json` prints it (the Contract's "answers" entries)."""
    return {
        "question": answer.number,
        "id": answer.question_id,
        "text": answer.question,
        "type": answer.type,
        "asked": answer.asked,
        "answer": answer.answer if answer.asked else None,
        "value": _json_value(answer.value),
        "source": answer.source,
        "at_seconds": answer.at_seconds,
        "knockout_passed": answer.knockout_passed,
        # Earlier answers the candidate corrected, oldest first (an addition to the Contract).
        "history": [{"answer": h.answer, "value": _json_value(h.value), "at_seconds": h.at_seconds}
                    for h in answer.history],
    }


def answers_for_cli(db: Database, call: Call) -> list[dict[str, Any]]:
    """The Contract's "answers" of one call, read from its transcript and recorded answers."""
    messages = transcript_messages(store.get_transcript(db, call.id))
    return [contract_entry(a) for a in call_answers(call, messages)]
