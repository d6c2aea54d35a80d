"""Typed screening questions: the model, stable ids, value parsing and knockout rules (pure).

A question is open, yes/no, number (a unit, optional bounds) or choice (options). Its
knockout rule and its reviewer guidance are for the hiring team only: the prompt never
carries them, so the agent cannot lead a candidate toward a threshold.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_OPTIONS = 12
_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class QuestionType(StrEnum):
    """What kind of answer a question expects."""

    OPEN = "open"
    YES_NO = "yes_no"
    NUMBER = "number"
    CHOICE = "choice"

    @property
    def label(self) -> str:
        """The type in plain words."""
        return _TYPE_LABELS[self]


_TYPE_LABELS = {
    QuestionType.OPEN: "Open answer",
    QuestionType.YES_NO: "Yes or no",
    QuestionType.NUMBER: "A number",
    QuestionType.CHOICE: "One of a few choices",
}


class _QStrict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Knockout(_QStrict):
    """What an answer must be for the candidate to go on: one rule per question type."""

    must_be: bool | None = None  # yes/no questions
    at_least: float | None = None  # number questions
    at_most: float | None = None  # number questions
    one_of: list[str] = Field(default_factory=list, max_length=MAX_OPTIONS)  # choice questions

    @property
    def empty(self) -> bool:
        """True when no rule is set."""
        return self.must_be is None and self.at_least is None and self.at_most is None and not self.one_of


def question_id(text: str) -> str:
    """A question's stable id derived from its wording (used once, when it has none yet)."""
    digest = hashlib.sha256(" ".join((text or "").split()).casefold().encode("utf-8")).hexdigest()
    return f"q{digest[:8]}"


class ScreeningQuestion(_QStrict):
    """One screening question: its id, wording, type, knockout rule and the two guidances."""

    id: str = Field("", max_length=40)
    text: str = Field(min_length=1, max_length=500)
    type: QuestionType = QuestionType.OPEN
    unit: str = Field("", max_length=40)  # number questions, e.g. "years"
    min_value: float | None = None
    max_value: float | None = None
    options: list[str] = Field(default_factory=list, max_length=MAX_OPTIONS)
    knockout: Knockout | None = None
    guidance: str = Field("", max_length=1000)  # for the agent: what a good answer contains
    reviewer_guidance: str = Field("", max_length=1000)  # for the hiring team only

    @model_validator(mode="before")
    @classmethod
    def _plain_text_is_open(cls, data: Any) -> Any:
        # Questions stored before typed questions existed are plain strings: "open" ones.
        if isinstance(data, str):
            return {"text": data}
        if isinstance(data, dict):
            data = dict(data)
            # The settings form's plain-words forms: "days, nights"; "at least 2".
            if isinstance(data.get("options"), str):
                data["options"] = [p.strip() for p in re.split(r"[,;\n]", data["options"]) if p.strip()]
            if isinstance(data.get("knockout"), str):
                try:
                    qtype = QuestionType(data.get("type") or QuestionType.OPEN)
                except ValueError:
                    qtype = None  # the type's own error is reported
                data["knockout"] = knockout_from_text(qtype, data["knockout"]) if qtype else None
        return data

    @model_validator(mode="after")
    def _consistent(self) -> ScreeningQuestion:
        if self.id and not _ID.match(self.id):
            raise ValueError("the id may hold only letters, digits, '-' and '_'")
        if not self.id:
            self.id = question_id(self.text)
        self.options = list(dict.fromkeys(o for o in (s.strip() for s in self.options) if o))
        if self.type == QuestionType.CHOICE and len(self.options) < 2:
            raise ValueError("a choice question needs at least two choices")
        if self.type != QuestionType.CHOICE:
            self.options = []
        if self.type != QuestionType.NUMBER:
            self.unit, self.min_value, self.max_value = "", None, None
        for bound in (self.min_value, self.max_value):
            if bound is not None and not math.isfinite(bound):
                raise ValueError("the smallest and largest numbers must be ordinary numbers")
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise ValueError("the smallest number allowed is above the largest")
        if self.knockout is not None:
            self.knockout = _checked_knockout(self, self.knockout)
        return self


def _checked_knockout(q: ScreeningQuestion, rule: Knockout) -> Knockout | None:
    if rule.empty:
        return None
    if q.type == QuestionType.OPEN:
        raise ValueError("an open question cannot have a knock-out rule")
    if q.type == QuestionType.YES_NO and (rule.must_be is None or rule.at_least is not None
                                          or rule.at_most is not None or rule.one_of):
        raise ValueError("a yes/no knock-out rule says which answer is required (yes or no)")
    if q.type == QuestionType.NUMBER:
        if rule.must_be is not None or rule.one_of or (rule.at_least is None and rule.at_most is None):
            raise ValueError("a number knock-out rule is 'at least' and/or 'at most' a number")
        if rule.at_least is not None and rule.at_most is not None and rule.at_least > rule.at_most:
            raise ValueError("the knock-out's 'at least' is above its 'at most'")
    if q.type == QuestionType.CHOICE:
        if rule.must_be is not None or rule.at_least is not None or rule.at_most is not None:
            raise ValueError("a choice knock-out rule lists the accepted choices")
        unknown = [o for o in rule.one_of if o.casefold() not in {x.casefold() for x in q.options}]
        if unknown or not rule.one_of:
            raise ValueError(f"the knock-out accepts choices that are not offered: {', '.join(unknown)}")
    return rule


def with_ids(questions: Iterable[ScreeningQuestion]) -> list[ScreeningQuestion]:
    """The questions with unique ids: a repeated id (same wording twice) gets a suffix."""
    seen: set[str] = set()
    out = []
    for q in questions:
        qid, n = q.id, 2
        while qid in seen:
            qid, n = f"{q.id}-{n}", n + 1
        seen.add(qid)
        out.append(q if qid == q.id else q.model_copy(update={"id": qid}))
    return out


def lenient_questions(items: Iterable[Any]) -> list[ScreeningQuestion]:
    """Questions from a stored snapshot, whatever its age: strings, partial or invalid dicts.

    An item that no longer validates keeps its wording as an open question (never an error on
    a review page).
    """
    out = []
    for item in items:
        try:
            out.append(ScreeningQuestion.model_validate(item))
        except ValueError:
            text = str((item.get("text") if isinstance(item, dict) else item) or "")
            guidance = str(item.get("guidance") or "") if isinstance(item, dict) else ""
            qid = str(item.get("id") or "") if isinstance(item, dict) else ""
            out.append(ScreeningQuestion.model_construct(
                id=qid if _ID.match(qid) else question_id(text), text=text, type=QuestionType.OPEN,
                unit="", min_value=None, max_value=None, options=[], knockout=None,
                guidance=guidance, reviewer_guidance=""))
    return with_ids(out)


# ---------------------------------------------------------------------------------------
# Values: what an answer means for its type
# ---------------------------------------------------------------------------------------

_YES = frozenset({"yes", "yeah", "yep", "yup", "sure", "correct", "definitely", "absolutely",
                  "certainly"})
_NO = frozenset({"no", "nope", "nah", "never", "don't", "dont", "can't", "cannot", "won't"})
_NUMBER_WORDS = {
    "zero": 0, "none": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "half": 0.5,
}
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_TOKENS = re.compile(r"[a-z']+|-?\d+(?:[.,]\d+)?")


class ValueProblem(ValueError):
    """A value does not fit its question: the message says what would (for the agent)."""


def _fmt(number: float) -> str:
    # Exact, so a rule written back from its words is the same rule; "2", not "2.0".
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


def _in_bounds(q: ScreeningQuestion, number: float) -> float:
    low, high = q.min_value, q.max_value
    if (low is not None and number < low) or (high is not None and number > high):
        if low is not None and high is not None:
            raise ValueProblem(f"the number must be between {_fmt(low)} and {_fmt(high)}")
        if low is not None:
            raise ValueProblem(f"the number must be at least {_fmt(low)}")
        raise ValueProblem(f"the number must be at most {_fmt(high)}")  # type: ignore[arg-type]
    return number


def parse_value(q: ScreeningQuestion, raw: Any) -> bool | float | str | None:
    """The typed value of `raw` as an agent reports it: strict, or ValueProblem saying why not.

    open → the text; yes/no → True/False from "yes"/"no"; number → a float within the bounds;
    choice → the option exactly as configured (case and spacing ignored).
    """
    text = " ".join(str(raw if raw is not None else "").split())
    if q.type == QuestionType.OPEN:
        return text or None
    if not text:
        raise ValueProblem(_expected(q))
    low = text.casefold().rstrip(".!")
    if q.type == QuestionType.YES_NO:
        if low in ("yes", "true", "y"):
            return True
        if low in ("no", "false", "n"):
            return False
        raise ValueProblem(_expected(q))
    if q.type == QuestionType.NUMBER:
        try:
            number = float(low.replace(",", ""))
        except ValueError:
            raise ValueProblem(_expected(q)) from None
        if not math.isfinite(number):
            raise ValueProblem(_expected(q))
        return _in_bounds(q, number)
    for option in q.options:
        if option.casefold() == low:
            return option
    raise ValueProblem(_expected(q))


def _expected(q: ScreeningQuestion) -> str:
    if q.type == QuestionType.YES_NO:
        return "the value must be yes or no"
    if q.type == QuestionType.NUMBER:
        unit = f" ({q.unit})" if q.unit else ""
        return f"the value must be a number{unit}, digits only, e.g. 3"
    return "the value must be one of: " + ", ".join(q.options)


def guess_value(q: ScreeningQuestion, answer: str | None) -> bool | float | str | None:
    """A typed value read from a candidate's words (the transcript fallback); None if unclear."""
    text = (answer or "").casefold()
    if not text.strip() or q.type == QuestionType.OPEN:
        return None
    tokens = _TOKENS.findall(text)
    if q.type == QuestionType.YES_NO:
        first = next((t for t in tokens if t in _YES or t in _NO), None)
        return None if first is None else first in _YES
    if q.type == QuestionType.NUMBER:
        for token in tokens:
            if _NUMBER.fullmatch(token):
                number = float(token.replace(",", "."))
            elif token in _NUMBER_WORDS and token not in ("a", "an"):
                number = float(_NUMBER_WORDS[token])
            else:
                continue
            try:
                return _in_bounds(q, number)
            except ValueProblem:
                return None
        return None
    found = [o for o in q.options if re.search(rf"\b{re.escape(o.casefold())}\b", text)]
    return found[0] if len(found) == 1 else None


def knockout_passed(q: ScreeningQuestion, value: Any) -> bool | None:
    """Whether a typed value passes the question's knockout rule; None: no rule or no value."""
    rule = q.knockout
    if rule is None or rule.empty or value is None:
        return None
    if q.type == QuestionType.YES_NO:
        return isinstance(value, bool) and value is rule.must_be
    if q.type == QuestionType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return None
        return ((rule.at_least is None or value >= rule.at_least)
                and (rule.at_most is None or value <= rule.at_most))
    if q.type == QuestionType.CHOICE:
        return isinstance(value, str) and value.casefold() in {o.casefold() for o in rule.one_of}
    return None


# ---------------------------------------------------------------------------------------
# In words: the prompt's "what to record", the knockout as people write it
# ---------------------------------------------------------------------------------------


def record_hint(q: ScreeningQuestion) -> str:
    """What the agent records for this question (no bounds, no knockout: those stay private)."""
    if q.type == QuestionType.YES_NO:
        return "Yes/no question: record yes or no."
    if q.type == QuestionType.NUMBER:
        unit = f" in {q.unit}" if q.unit else ""
        return f"Number question: record the number{unit}, as digits."
    if q.type == QuestionType.CHOICE:
        return "Choice question: record exactly one of: " + ", ".join(q.options) + "."
    return "Open question: record the candidate's answer in a sentence."


def knockout_text(q: ScreeningQuestion) -> str:
    """The knockout rule as an admin writes it ("yes", "at least 2", "days, nights"); "" if none."""
    rule = q.knockout
    if rule is None or rule.empty:
        return ""
    if q.type == QuestionType.YES_NO:
        return "yes" if rule.must_be else "no"
    if q.type == QuestionType.NUMBER:
        parts = []
        if rule.at_least is not None:
            parts.append(f"at least {_fmt(rule.at_least)}")
        if rule.at_most is not None:
            parts.append(f"at most {_fmt(rule.at_most)}")
        return " and ".join(parts)
    return ", ".join(rule.one_of)


_BOUND = re.compile(r"(at least|at most|>=|<=|min(?:imum)?|max(?:imum)?)\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)")


def knockout_from_text(qtype: QuestionType, text: str) -> dict[str, Any] | None:
    """A knockout rule from its plain-words form (see `knockout_text`); ValueError if unclear."""
    words = " ".join((text or "").split())
    if not words:
        return None
    low = words.casefold()
    if qtype == QuestionType.OPEN:
        raise ValueError("an open question cannot have a knock-out rule")
    if qtype == QuestionType.YES_NO:
        if low in ("yes", "must be yes", "y"):
            return {"must_be": True}
        if low in ("no", "must be no", "n"):
            return {"must_be": False}
        raise ValueError("write yes or no: the answer a candidate must give")
    if qtype == QuestionType.NUMBER:
        rule: dict[str, Any] = {}
        for op, number in _BOUND.findall(low):
            key = "at_least" if op in ("at least", ">=") or op.startswith("min") else "at_most"
            rule[key] = float(number)
        leftover = _BOUND.sub("", low).replace("and", "").strip(" ,;")
        if not rule or leftover:
            raise ValueError("write 'at least 2', 'at most 40' or both")
        return rule
    return {"one_of": [p.strip() for p in re.split(r"[,;\n]", words) if p.strip()]}


# ---------------------------------------------------------------------------------------
# The settings form's table rows
# ---------------------------------------------------------------------------------------

TYPE_BY_LABEL: dict[str, str] = {t.label: t.value for t in QuestionType}


def editor_rows(questions: Iterable[Any]) -> list[dict[str, Any]]:
    """Stored questions (plain or typed) as the settings table's rows: plain words throughout."""
    rows = []
    for q in lenient_questions(questions):
        rows.append({
            "id": q.id, "text": q.text, "type": q.type.label, "options": ", ".join(q.options),
            "unit": q.unit, "min_value": q.min_value, "max_value": q.max_value,
            "knockout": knockout_text(q), "guidance": q.guidance,
            "reviewer_guidance": q.reviewer_guidance,
        })
    return rows


def from_editor_row(row: dict[str, Any]) -> dict[str, Any]:
    """A settings-table row as a plain question (validated later, with every other setting)."""
    def blank(value: Any) -> bool:
        return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""

    out: dict[str, Any] = {k: ("" if blank(v) else v) for k, v in row.items()}
    out["type"] = TYPE_BY_LABEL.get(str(out.get("type") or ""), out.get("type") or QuestionType.OPEN.value)
    for key in ("min_value", "max_value"):
        out[key] = None if blank(row.get(key)) else row[key]
    if not out.get("id"):
        out.pop("id", None)
    return out
