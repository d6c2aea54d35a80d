"""Which part of the transcript answers which screening question."""

from __future__ import annotations

import re
from typing import Any

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


def question_answers(questions: list[dict[str, Any]], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each screening question with the candidate's answer: the agent turn asking it → the
    candidate's turns that follow, up to the agent's next turn.

    The agent rephrases, so a turn "asks" a question when it holds at least half of the
    question's content words; the best such turn not yet used wins (earliest on a tie).
    """
    agent_turns = [(i, _words(m["text"])) for i, m in enumerate(messages) if m["speaker"] == "agent"]
    used: set[int] = set()
    out = []
    for number, q in enumerate(questions, start=1):
        text = str(q.get("text") or "")
        wanted = _words(text)
        best, best_score = None, 0.0
        for index, words in agent_turns:
            if index in used or not wanted:
                continue
            score = len(wanted & words) / len(wanted)
            if score > best_score:
                best, best_score = index, score
        item = {
            "number": number,
            "question": text,
            "guidance": str(q.get("guidance") or ""),
            "asked": False,
            "asked_at_s": None,
            "asked_as": None,
            "answer": None,
        }
        if best is not None and best_score >= 0.5:
            used.add(best)
            replies = []
            for m in messages[best + 1 :]:
                if m["speaker"] == "agent":
                    break
                if m["speaker"] == "candidate" and m["text"].strip():
                    replies.append(m["text"])
            item.update(
                asked=True,
                asked_at_s=messages[best]["start_s"],
                asked_as=_excerpt(messages[best]["text"], 300),
                answer=_excerpt(" ".join(replies)) if replies else "",
            )
        out.append(item)
    return out


def _questions(call: dict[str, Any]) -> list[dict[str, Any]]:
    snapshot = call.get("config_snapshot") or {}
    items = (snapshot.get("config") or {}).get("screening_questions") or []
    questions = [dict(q) if isinstance(q, dict) else {"text": str(q)} for q in items]
    # Prefer the wording the candidate heard (placeholders filled) when the snapshot has it.
    spoken = (snapshot.get("spoken") or {}).get("screening_questions") or []
    if len(spoken) == len(questions):
        for question, text in zip(questions, spoken, strict=True):
            question["text"] = text
    return questions
