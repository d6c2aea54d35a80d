"""A call's answers, one per question of its own snapshot: typed value, source, knockout.

The agent's recorded answers come first; a question it recorded nothing for falls back to
the transcript matcher, labelled "matched from the transcript — check".
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from core.agent.questions import guess_value, knockout_passed
from core.db import Database
from core.documents.call import Call
from core.documents.status import CallStatus
from core.review import store
from core.review.answer_matching import question_answers, screening_questions
from core.review.models import Message, QuestionAnswer
from core.review.timeline import transcript_messages


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
        if answer.source == "transcript" and q.spec is not None:
            value = guess_value(q.spec, answer.answer)
            answer = replace(answer, value=value, knockout_passed=knockout_passed(q.spec, value))
        out.append(answer)
    return out


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
    }


def answers_for_cli(db: Database, call: Call) -> list[dict[str, Any]]:
    """The Contract's "answers" of one call, read from its transcript and recorded answers."""
    messages = transcript_messages(store.get_transcript(db, call.id))
    return [contract_entry(a) for a in call_answers(call, messages)]
