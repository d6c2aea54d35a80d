"""The transcript fallback: which candidate turn answers which screening question (pure).

Used when the agent recorded no answer through its tool (older calls, a skipped tool call).
It matches by shared content words, and it never credits a question with an agent turn that
only greets, introduces itself or asks for time, nor with anything said to a voicemail box:
those were the matcher's false answers on real calls ("Question 2 — No. Please stop calling
me" after a greeting; a voicemail message credited to question 2).
"""

from __future__ import annotations

import re

from core.agent.questions import lenient_questions
from core.documents.call import Call
from core.review.models import Message, Question, QuestionAnswer

_EXCERPT_CHARS = 600
_MIN_SHARE = 0.5  # at least half the question's content words…
_MIN_WORDS = 2  # …and at least two of them (or all, for a shorter question)

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset({
    "the", "and", "you", "your", "are", "for", "was", "were", "have", "has", "had", "what", "how",
    "why", "when", "where", "which", "would", "could", "can", "will", "with", "about", "this",
    "that", "there", "their", "them", "they", "did", "does", "tell", "please", "any", "our", "its",
    "just", "some", "like", "also", "been", "being", "into", "from",
})
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# Sentences of an agent turn that greet, introduce the agent, disclose the recording or ask
# for time: never the asking of a screening question, even when they share its words.
_INTRO = re.compile(
    r"\b(this is|my name is|i'?m calling|i am calling|calling (about|from|on behalf|for|regarding)"
    r"|on behalf of|(an?|your) (ai|automated|virtual|digital) (assistant|agent)|assistant (for|with|from)"
    r"|(call|conversation) (is|will be|may be) (being )?recorded|is this \S+\?|speaking with"
    r"|a few minutes|good time|quick (screening )?questions?|some questions|hello"
    r"|good (morning|afternoon|evening))\b",
    re.IGNORECASE,
)
# A recorded greeting of a voicemail box or answering machine.
_MACHINE = re.compile(
    r"\b(voice ?mail|leave (me |us )?(a |your )?(message|name)|after the (tone|beep)|at the (tone|beep)"
    r"|(can'?t|cannot|unable to) (come to|take) (the|your) (phone|call)|not available (right now|to take)"
    r"|mailbox|record your message|the person you are calling)\b",
    re.IGNORECASE,
)


def _stem(word: str) -> str:
    for suffix, keep in (("ing", 4), ("ies", 3), ("ed", 4), ("es", 4), ("s", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= keep and not word.endswith("ss"):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP}


def _excerpt(text: str, limit: int = _EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def is_machine_greeting(text: str) -> bool:
    """True for the recorded greeting of a voicemail box or an answering machine."""
    return bool(_MACHINE.search(text or ""))


def asking_words(text: str) -> set[str]:
    """The content words of an agent turn that may ask a question (intro sentences left out)."""
    kept = [s for s in _SENTENCE.split(text or "") if s.strip() and not _INTRO.search(s)]
    return _words(" ".join(kept))


def _score(wanted: set[str], words: set[str]) -> float:
    shared = len(wanted & words)
    if not wanted or shared < min(_MIN_WORDS, len(wanted)) or shared / len(wanted) < _MIN_SHARE:
        return 0.0
    return shared / len(wanted)


def reached_voicemail(messages: list[Message]) -> bool:
    """True when the first thing the callee "said" was a voicemail or machine greeting."""
    first = next((m for m in messages if m.speaker == "candidate" and m.text.strip()), None)
    return first is not None and is_machine_greeting(first.text)


def question_answers(questions: list[Question], messages: list[Message], *,
                     voicemail_text: str = "", voicemail: bool = False) -> list[QuestionAnswer]:
    """Each screening question with the candidate's answer found in the transcript.

    A turn "asks" a question when it holds at least half (and at least two) of the question's
    content words outside its greeting sentences; pairs are taken best first, so a rephrased or
    out-of-order question still finds its turn (earliest turn, then earliest question, on a
    tie). The answer is the candidate's turns after it, up to the agent's next turn. Nothing is
    credited on a call that reached voicemail, nor to the agent's voicemail message.
    """
    blank = [QuestionAnswer(number=n, question=q.text, guidance=q.guidance, question_id=q.id,
                            type=q.type, reviewer_guidance=q.reviewer_guidance)
             for n, q in enumerate(questions, start=1)]
    if voicemail or reached_voicemail(messages):
        return blank
    left_message = _words(voicemail_text)
    turns: dict[int, set[str]] = {}
    for i, m in enumerate(messages):
        if m.speaker != "agent":
            continue
        whole = _words(m.text)
        if left_message and len(whole & left_message) >= max(3, 0.6 * len(left_message)):
            continue  # the voicemail message, said to a person or a machine: never an answer
        turns[i] = asking_words(m.text)
    pairs = sorted(
        ((-score, index, number) for number, q in enumerate(questions)
         for index, words in turns.items() if (score := _score(_words(q.text), words)) > 0),
    )
    taken_turns: set[int] = set()
    asked: dict[int, int] = {}
    for _neg, index, number in pairs:
        if index in taken_turns or number in asked:
            continue
        taken_turns.add(index)
        asked[number] = index
    out = []
    for number, base in enumerate(blank):
        index = asked.get(number)
        if index is None:
            out.append(base)
            continue
        replies = []
        for m in messages[index + 1:]:
            if m.speaker == "agent":
                break
            if m.speaker == "candidate" and m.text.strip() and not is_machine_greeting(m.text):
                replies.append(m)
        out.append(QuestionAnswer(
            number=base.number, question=base.question, guidance=base.guidance,
            question_id=base.question_id, type=base.type, reviewer_guidance=base.reviewer_guidance,
            asked=True, asked_at_s=messages[index].start_s, asked_as=_excerpt(messages[index].text, 300),
            answer=_excerpt(" ".join(m.text for m in replies)) if replies else "",
            source="transcript", at_seconds=replies[0].start_s if replies else None,
        ))
    return out


def screening_questions(call: Call) -> list[Question]:
    """The call's screening questions from its own snapshot (typed, with ids), in the wording
    the candidate heard when the snapshot has it."""
    snapshot = call.config_snapshot
    items = (snapshot.get("config") or {}).get("screening_questions") or []
    specs = lenient_questions(items)
    texts = [q.text for q in specs]
    # Prefer the wording the candidate heard (placeholders filled) when the snapshot has it.
    spoken = (snapshot.get("spoken") or {}).get("screening_questions") or []
    if len(spoken) == len(texts):
        texts = [str(text or "") for text in spoken]
    return [Question(text=t, guidance=q.guidance, id=q.id, type=q.type.value,
                     reviewer_guidance=q.reviewer_guidance, spec=q)
            for t, q in zip(texts, specs, strict=True)]
