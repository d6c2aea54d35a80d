"""Outcomes by dialled number and scripted conversations generated from a system prompt."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """What happens when the sandbox dials a number (DESIGN.md, Contract, "Sandbox outcomes")."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    REJECTED = "rejected"
    DROPPED = "dropped"
    OPT_OUT = "opt_out"


_SPECIAL = {
    50: Outcome.NO_ANSWER,
    51: Outcome.BUSY,
    52: Outcome.VOICEMAIL,
    53: Outcome.REJECTED,
    54: Outcome.DROPPED,
    55: Outcome.OPT_OUT,
}


def outcome_for(number: str) -> Outcome:
    """The scripted outcome of dialling an E.164 number (+1 NPA 555-01XX picks by XX)."""
    digits = re.sub(r"\D", "", number or "")
    if len(digits) == 11 and digits.startswith("1") and digits[4:9] == "55501":
        return _SPECIAL.get(int(digits[9:11]), Outcome.ANSWERED)
    return Outcome.ANSWERED


@dataclass
class Line:
    """One utterance: who speaks, what, and for how long (simulated seconds)."""

    role: str  # "agent" or "user"
    text: str

    @property
    def seconds(self) -> float:
        """Speaking time at about 2.6 words per second, plus a turn gap."""
        return max(1.0, len(self.text.split()) / 2.6) + 0.7


@dataclass
class Script:
    """A whole scripted call."""

    lines: list[Line]
    end_reason: str
    short_summary: str
    summary: str
    questions: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Total talk time in simulated seconds."""
        return sum(line.seconds for line in self.lines)


_NUMBERED = re.compile(r"^\s*\d{1,2}[.)]\s+(.{3,300})$")
_BULLET = re.compile(r"^\s*[-*•]\s+")
_GENERIC_QUESTIONS = [
    "Could you tell me a little about your most recent role?",
    "What interests you about this position?",
    "When would you be available to start?",
]


def questions_from_prompt(prompt: str | None) -> list[str]:
    """Screening questions found in a prompt: numbered items or lines ending with "?"."""
    found: list[str] = []
    for raw in (prompt or "").splitlines():
        line = raw.strip()
        match = _NUMBERED.match(line)
        if match:
            text = match.group(1).strip()
        elif line.endswith("?"):
            text = _BULLET.sub("", line)
        else:
            continue
        if text not in found:
            found.append(text)
    return found[:10] or list(_GENERIC_QUESTIONS)


def _job_title(prompt: str) -> str | None:
    match = re.search(r"(?:for|about) (?:the|a|an) ([A-Z][\w\- ]{2,40}?) (?:role|position|job)",
                      prompt or "")
    return match.group(1) if match else None


def _answer(question: str, rng: random.Random) -> str:
    q = question.lower()
    years = rng.choice([2, 3, 4, 5, 6, 8, 10])
    if any(k in q for k in ("salary", "compensation", "pay", "rate")):
        return rng.choice([
            f"I'm looking for something around {rng.choice([55, 65, 75, 90, 110])} thousand a year.",
            "I'd want to be in the market range for the role, but I'm flexible.",
        ])
    if any(k in q for k in ("shift", "weekend", "schedule", "hours", "night")):
        return rng.choice(["Weekends are fine, and I can do evening shifts.",
                           "I'd prefer day shifts, but I can cover some weekends."])
    if any(k in q for k in ("start", "notice", "available", "availability")):
        return rng.choice([
            "I could start in about two weeks.",
            f"I have a {rng.choice([2, 3, 4])} week notice period, so after that.",
            "Right away, actually. I'm available now.",
        ])
    if any(k in q for k in ("relocat", "commute", "on-site", "onsite", "office", "remote")):
        return rng.choice([
            "Yes, the commute is fine for me.",
            "I'd prefer hybrid, but I can be on site a few days a week.",
            "I'm open to relocating for the right role.",
        ])
    if any(k in q for k in ("authori", "visa", "sponsor", "legally")):
        return rng.choice(["Yes, I'm authorized to work here, no sponsorship needed.",
                           "I would need sponsorship, unfortunately."])
    if any(k in q for k in ("experience", "years", "background", "role", "worked")):
        return rng.choice([
            f"I have about {years} years of experience, most recently leading a small team.",
            f"Around {years} years. I've done similar work at two companies.",
            f"I've been in the field for {years} years, mostly hands-on.",
        ])
    if any(k in q for k in ("why", "interest", "motivat")):
        return rng.choice([
            "I like the company's mission and the role fits what I want to grow into.",
            "A friend works there and speaks highly of the team.",
        ])
    return rng.choice([
        "Yes, definitely.",
        "I think so. I've handled that kind of thing regularly.",
        "That's a good question. I'd say yes, with a bit of ramp-up.",
        "Honestly, not much yet, but I learn quickly.",
    ])


def build_script(prompt: str | None, phone: str, outcome: Outcome) -> Script:
    """The conversation of one call: deterministic per phone number, shaped by the outcome."""
    rng = random.Random(phone or "sandbox")  # simulated answers, not security  # nosec B311
    questions = questions_from_prompt(prompt)
    title = _job_title(prompt or "")
    about = f"the {title} position" if title else "your job application"
    greeting = (f"Hi, this is Alex, an automated assistant calling about {about}. "
                "Do you have a few minutes for some quick screening questions?")
    lines = [Line("user", "Hello?")]

    if outcome == Outcome.VOICEMAIL:
        lines = [
            Line("user", "Hi, you've reached my voicemail. Please leave a message after the tone."),
            Line("agent", f"Hello, this is Alex calling about {about}. We'll try you again "
                          "soon. Thank you, goodbye."),
        ]
        return Script(lines, "agent_hangup", "Reached voicemail and left a message.",
                      "The call reached voicemail. The agent left a short message saying "
                      "it would call again.", questions)

    lines.append(Line("agent", greeting))
    if outcome == Outcome.OPT_OUT:
        lines += [
            Line("user", "No. Please stop calling me, don't call me again."),
            Line("agent", "I understand, and I'm sorry for the trouble. We won't call you "
                          "again. Goodbye."),
        ]
        return Script(lines, "agent_hangup", "The candidate asked not to be called again.",
                      "The candidate declined the screening and asked not to be called "
                      "again. The agent apologised and ended the call.", questions)

    lines.append(Line("user", rng.choice(["Sure, go ahead.", "Yes, now is fine.",
                                          "Okay, I have a few minutes."])))
    answers: list[tuple[str, str]] = []
    asked = questions[:1] if outcome == Outcome.DROPPED else questions
    for question in asked:
        answer = _answer(question, rng)
        answers.append((question, answer))
        lines += [Line("agent", question), Line("user", answer)]
    if outcome == Outcome.DROPPED:
        return Script(lines, "connection_error", "The call dropped during the screening.",
                      f"The line dropped after {len(answers)} of {len(questions)} questions. "
                      f"{answers[0][0]} The candidate said: {answers[0][1]}", questions)
    lines += [
        Line("agent", "Thank you, that's all my questions. The hiring team will be in touch "
                      "soon. Goodbye!"),
        Line("user", rng.choice(["Thanks, bye.", "Great, thank you. Bye!", "Sounds good, bye."])),
    ]
    detail = " ".join(f"Asked: {q} Answer: {a}" for q, a in answers)
    return Script(lines, "agent_hangup",
                  f"Screening completed; the candidate answered all {len(answers)} questions.",
                  f"The candidate agreed to the screening and answered every question. {detail}",
                  questions)
