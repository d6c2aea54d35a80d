"""The review scorecard of one call: one row per question of its own snapshot (pure).

Each row holds what a reviewer needs side by side: the question, the candidate's answer, the
transcript lines around that answer (and where to start the recording to hear it), the
knockout result in words, the reviewer guidance and the rating already given.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.agent.questions import QuestionType
from core.review.models import CallDetail, Message, QuestionAnswer, ReviewView

EXCERPT_LINES = 3  # the agent's question and up to two candidate turns: "a couple of lines"
_CANDIDATE_TURNS = 2
_SPEAKER_LABELS = {"agent": "Agent", "candidate": "Candidate"}


@dataclass(frozen=True)
class ExcerptLine:
    """One transcript turn of an excerpt: who, when (seconds into the call) and the words."""

    speaker: str  # "Agent" or "Candidate"
    start_s: float | None
    text: str


@dataclass(frozen=True)
class ScorecardRow:
    """One question of the scorecard with its answer, excerpt, knockout result and rating."""

    number: int
    question_id: str
    question: str
    type_label: str  # the question's type in words ("Yes or no")
    asked: bool
    answer: str  # the candidate's words ("" when asked without a reply or not asked)
    value: str  # the typed value in words ("yes", "5", "nights"); "" when none
    source_label: str  # "recorded by the agent" | "matched from the transcript — check" | ""
    earlier: tuple[str, ...]  # answers the candidate corrected, oldest first
    excerpt: tuple[ExcerptLine, ...]
    play_from: float | None  # where ▶ starts the recording (None: no moment to play)
    knockout: str  # "passed" | "not passed" | "no knockout" | "no answer to check"
    reviewer_guidance: str
    rating: int | None  # the saved rating of this question (None: not rated)

    @property
    def rating_key(self) -> str:
        """The key a rating of this row is saved under (the question's id, else its position)."""
        return self.question_id or str(self.number)


def value_text(value: object) -> str:
    """A typed answer value in words: yes/no, a number without a needless ".0", or the choice."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def type_label(question_type: str) -> str:
    """A question type in words ("open" → "Open answer"); unknown types read as open."""
    try:
        return QuestionType(question_type).label
    except ValueError:
        return QuestionType.OPEN.label


def knockout_words(answer: QuestionAnswer, has_rule: bool) -> str:
    """The knockout result in words: passed, not passed, no knockout, or not answered."""
    if not has_rule:
        return "no knockout"
    if answer.knockout_passed is None:
        return "no answer to check"
    return "passed" if answer.knockout_passed else "not passed"


def _answer_turn(messages: list[Message], at_seconds: float) -> int | None:
    """The index of the candidate's turn holding `at_seconds` (or the last one starting before it)."""
    best = None
    for i, m in enumerate(messages):
        if m.speaker != "candidate" or m.start_s is None or not m.text.strip():
            continue
        if m.start_s <= at_seconds + 0.5:  # times are rounded to tenths of a second
            best = i
            if m.end_s is not None and at_seconds <= m.end_s:
                break
        else:
            break
    if best is None:  # the answer came before any timed candidate turn: take the first one
        best = next((i for i, m in enumerate(messages)
                     if m.speaker == "candidate" and m.start_s is not None and m.text.strip()), None)
    return best


def excerpt(messages: list[Message], at_seconds: float | None) -> tuple[ExcerptLine, ...]:
    """The transcript around an answer given at `at_seconds`: the agent's turn just before it and
    the candidate's turn(s) from there, at most `EXCERPT_LINES` lines, tool messages left out."""
    if at_seconds is None:
        return ()
    spoken = [m for m in messages if m.speaker in _SPEAKER_LABELS]
    start = _answer_turn(spoken, at_seconds)
    if start is None:
        return ()
    picked: list[Message] = []
    before = (m for m in reversed(spoken[:start]) if m.speaker == "agent" and m.text.strip())
    agent_before = next(before, None)
    if agent_before is not None:
        picked.append(agent_before)
    turns = 0
    for m in spoken[start:]:
        if m.speaker != "candidate" or turns == _CANDIDATE_TURNS or len(picked) == EXCERPT_LINES:
            break
        if m.text.strip():
            picked.append(m)
            turns += 1
    return tuple(ExcerptLine(_SPEAKER_LABELS[m.speaker], m.start_s, " ".join(m.text.split())) for m in picked)


def play_from(lines: tuple[ExcerptLine, ...], at_seconds: float | None) -> float | None:
    """Where ▶ starts the recording: the candidate's first excerpt turn, else `at_seconds`."""
    first = next((line.start_s for line in lines if line.speaker == "Candidate" and line.start_s is not None),
                 None)
    start = first if first is not None else at_seconds
    return max(0.0, float(start)) if start is not None else None


def scorecard_rows(questions: list[QuestionAnswer], messages: list[Message], review: ReviewView | None,
                   knockout_rules: dict[str, bool] | None = None) -> list[ScorecardRow]:
    """One row per question, in order (`knockout_rules`: question id → has a knockout rule;
    missing ids are judged by whether a knockout result was computed)."""
    rules = knockout_rules or {}
    rows = []
    for q in questions:
        lines = excerpt(messages, q.at_seconds) if q.asked else ()
        has_rule = rules.get(q.question_id, q.knockout_passed is not None)
        rows.append(ScorecardRow(
            number=q.number,
            question_id=q.question_id,
            question=q.question,
            type_label=type_label(q.type),
            asked=q.asked,
            answer=q.answer or "",
            value=value_text(q.value),
            source_label=q.source_label,
            earlier=q.earlier,
            excerpt=lines,
            play_from=play_from(lines, q.at_seconds) if q.asked else None,
            knockout=knockout_words(q, has_rule),
            reviewer_guidance=q.reviewer_guidance,
            rating=review.rating(q.number, q.question_id) if review else None,
        ))
    return rows


def call_scorecard(detail: CallDetail) -> list[ScorecardRow]:
    """The scorecard of a call's detail (knockout rules from the call's own question snapshot)."""
    return scorecard_rows(detail.questions, detail.transcript, detail.review, detail.knockout_rules)
