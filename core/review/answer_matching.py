"""Which part of the transcript answers which screening question."""

from __future__ import annotations

import re

from core.documents.call import Call
from core.review.models import Message, Question, QuestionAnswer

_EXCERPT_CHARS = 600


_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    {
        "the",
        "and",
        "you",
        "your",
        "are",
        "for",
        "was",
        "were",
        "have",
        "has",
        "had",
        "what",
        "how",
        "why",
        "when",
        "where",
        "which",
        "would",
        "could",
        "can",
        "will",
        "with",
        "about",
        "this",
        "that",
        "there",
        "their",
        "them",
        "they",
        "did",
        "does",
        "do",
        "tell",
        "me",
        "please",
        "any",
        "our",
    }
)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP}


def _excerpt(text: str, limit: int = _EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def question_answers(questions: list[Question], messages: list[Message]) -> list[QuestionAnswer]:
    """Each screening question with the candidate's answer: the agent turn asking it → the
    candidate's turns that follow, up to the agent's next turn.

    The agent rephrases, so a turn "asks" a question when it holds at least half of the
    question's content words; the best such turn not yet used wins (earliest on a tie).
    """
    agent_turns = [(i, _words(m.text)) for i, m in enumerate(messages) if m.speaker == "agent"]
    used: set[int] = set()
    out = []
    for number, q in enumerate(questions, start=1):
        wanted = _words(q.text)
        best, best_score = None, 0.0
        for index, words in agent_turns:
            if index in used or not wanted:
                continue
            score = len(wanted & words) / len(wanted)
            if score > best_score:
                best, best_score = index, score
        if best is None or best_score < 0.5:
            out.append(QuestionAnswer(number=number, question=q.text, guidance=q.guidance))
            continue
        used.add(best)
        replies = []
        for m in messages[best + 1 :]:
            if m.speaker == "agent":
                break
            if m.speaker == "candidate" and m.text.strip():
                replies.append(m.text)
        out.append(
            QuestionAnswer(
                number=number,
                question=q.text,
                guidance=q.guidance,
                asked=True,
                asked_at_s=messages[best].start_s,
                asked_as=_excerpt(messages[best].text, 300),
                answer=_excerpt(" ".join(replies)) if replies else "",
            )
        )
    return out


def screening_questions(call: Call) -> list[Question]:
    """The call's screening questions in the wording the candidate heard, when the snapshot has it."""
    snapshot = call.config_snapshot
    items = (snapshot.get("config") or {}).get("screening_questions") or []
    texts = [str(q.get("text") or "") if isinstance(q, dict) else str(q) for q in items]
    guidance = [str(q.get("guidance") or "") if isinstance(q, dict) else "" for q in items]
    # Prefer the wording the candidate heard (placeholders filled) when the snapshot has it.
    spoken = (snapshot.get("spoken") or {}).get("screening_questions") or []
    if len(spoken) == len(texts):
        texts = [str(text or "") for text in spoken]
    return [Question(text=t, guidance=g) for t, g in zip(texts, guidance, strict=True)]
