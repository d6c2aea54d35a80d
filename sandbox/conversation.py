"""Outcomes by dialled number and scripted conversations generated from a system prompt."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    """What happens when the sandbox dials a number (DESIGN.md, Contract, "Sandbox outcomes")."""

    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    VOICEMAIL = "voicemail"
    REJECTED = "rejected"
    DROPPED = "dropped"
    OPT_OUT = "opt_out"
    CORRECTS = "corrects_answer"
    ASKS_HUMAN = "asks_for_human"
    CALLBACK = "asks_for_callback"
    REFUSES_RECORDING = "refuses_recording"
    NO_DISCLOSURE = "agent_skips_disclosure"


_SPECIAL = {
    50: Outcome.NO_ANSWER,
    51: Outcome.BUSY,
    52: Outcome.VOICEMAIL,
    53: Outcome.REJECTED,
    54: Outcome.DROPPED,
    55: Outcome.OPT_OUT,
    56: Outcome.CORRECTS,
    57: Outcome.ASKS_HUMAN,
    58: Outcome.CALLBACK,
    59: Outcome.REFUSES_RECORDING,
    60: Outcome.NO_DISCLOSURE,
}
CONSENT_TOOL = "recordingConsent"
_CONSENT_QUESTION = "Before we start, do you agree to this call being recorded?"


def outcome_for(number: str) -> Outcome:
    """The scripted outcome of dialling an E.164 number (+1 NPA 555-01XX picks by XX)."""
    digits = re.sub(r"\D", "", number or "")
    if len(digits) == 11 and digits.startswith("1") and digits[4:9] == "55501":
        return _SPECIAL.get(int(digits[9:11]), Outcome.ANSWERED)
    return Outcome.ANSWERED


@dataclass
class Line:
    """One utterance (who speaks, what, for how long in simulated seconds), or a tool call the
    agent makes (`role` "tool", `text` the tool's name, `args` what the model fills in)."""

    role: str  # "agent", "user" or "tool"
    text: str
    args: dict[str, Any] | None = None

    @property
    def seconds(self) -> float:
        """Speaking time at about 2.6 words per second, plus a turn gap (a tool: a moment)."""
        if self.role == "tool":
            return 0.3
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
    # Why-questions first: "What interests you about this role?" names the role too.
    if any(k in q for k in ("why", "interest", "motivat", "attract")):
        return rng.choice([
            "I like the company's mission and the role fits what I want to grow into.",
            "A friend works there and speaks highly of the team.",
        ])
    if any(k in q for k in ("skill", "strength", "fit", "good at")):
        return rng.choice([
            "I'm good at keeping work organised, and I've trained most of the new starters on my team.",
            "Staying calm when things get busy, and explaining things clearly to people.",
        ])
    if any(k in q for k in ("experience", "years", "background", "role", "worked", "current", "recent")):
        return rng.choice([
            f"I have about {years} years of experience, most recently leading a small team.",
            f"Around {years} years. I've done similar work at two companies.",
            f"I've been in the field for {years} years, mostly hands-on.",
        ])
    return rng.choice([
        "Yes, definitely.",
        "I think so. I've handled that kind of thing regularly.",
        "That's a good question. I'd say yes, with a bit of ramp-up.",
        "Honestly, not much yet, but I learn quickly.",
    ])


@dataclass
class PromptQuestion:
    """A screening question as the prompt states it: its number, words, type and choices."""

    number: int | None
    text: str
    kind: str = "open"  # "open" | "yes_no" | "number" | "choice"
    unit: str = ""
    options: list[str] = field(default_factory=list)


_HINT = re.compile(r"^\((Yes/no|Number|Choice|Open) question: (.*)\)$")
_NUMBER_HEAD = re.compile(r"^\s*(\d{1,2})[.)]\s+")


def typed_questions(prompt: str | None) -> list[PromptQuestion]:
    """The questions of a prompt with the type each one's hint line states (else open)."""
    found: list[PromptQuestion] = []
    texts = questions_from_prompt(prompt)
    for raw in (prompt or "").splitlines():
        line = raw.strip()
        hint = _HINT.match(line)
        if hint and found:
            kind, rest = hint.group(1), hint.group(2)
            last = found[-1]
            if kind == "Yes/no":
                last.kind = "yes_no"
            elif kind == "Number":
                last.kind = "number"
                unit = re.search(r"the number in (.+?), as digits", rest)
                last.unit = unit.group(1) if unit else ""
            elif kind == "Choice":
                last.kind = "choice"
                last.options = [o.strip() for o in rest.split(":", 1)[-1].rstrip(".").split(",") if o.strip()]
            continue
        head = _NUMBER_HEAD.match(line)
        text = _NUMBER_HEAD.sub("", line) if head else _BULLET.sub("", line)
        if text in texts and all(q.text != text for q in found):
            found.append(PromptQuestion(int(head.group(1)) if head else None, text))
    return found or [PromptQuestion(None, t) for t in texts]


def _typed_answer(q: PromptQuestion, rng: random.Random, *, other_than: str | None = None) -> tuple[str, str]:
    """What the candidate says and the value the agent records for it."""
    if q.kind == "yes_no":
        pairs = [("Yes, I am.", "yes"), ("Yes, that's right.", "yes"), ("No, not at the moment.", "no")]
        if other_than:
            pairs = [p for p in pairs if p[1] != other_than]
        return rng.choice(pairs)
    if q.kind == "number":
        choices = [n for n in (1, 2, 3, 4, 5, 6, 8, 10) if str(n) != other_than]
        n = rng.choice(choices)
        return f"About {n} {q.unit or ''}".strip() + ".", str(n)
    if q.kind == "choice" and q.options:
        options = [o for o in q.options if o != other_than] or q.options
        option = rng.choice(options)
        return f"I'd go with {option}.", option
    text = _answer(q.text, rng)
    if other_than and text == other_than:
        text = "Let me put it differently: " + text
    return text, text


def _tomorrow(prompt: str | None) -> date:
    """The candidate's tomorrow, from the local date the prompt states (else the host's)."""
    match = re.search(r"it is now \w+ (\d{1,2}) (\w+) (\d{4})", prompt or "")
    months = ["january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december"]
    if match and match.group(2).lower() in months:
        today = date(int(match.group(3)), months.index(match.group(2).lower()) + 1, int(match.group(1)))
    else:
        today = date.today()
    return today + timedelta(days=1)


def _opening_text(first_speaker: dict[str, Any] | None) -> str:
    """The configured greeting as the create-call request gives it: the agent's fixed first
    words, or the words for a silent candidate (user first); "" for a generated greeting."""
    settings = first_speaker if isinstance(first_speaker, dict) else {}
    agent = settings.get("agent") if isinstance(settings.get("agent"), dict) else {}
    user = settings.get("user") if isinstance(settings.get("user"), dict) else {}
    fallback = user.get("fallback") if isinstance(user.get("fallback"), dict) else {}
    text = agent.get("text") or fallback.get("text") or ""
    return " ".join(str(text).split())


def _candidate_speaks_first(first_speaker: dict[str, Any] | None) -> bool:
    """Whether the create-call request makes the agent wait for the callee (Ultravox's default
    is the agent first)."""
    return isinstance(first_speaker, dict) and "user" in first_speaker and "agent" not in first_speaker


_SAY_THIS = re.compile(r'say this[^:\n]*:\s*"([^"\n]{3,600})"', re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?]*\brecord(?:s|ed|ing)?\b.*", re.IGNORECASE)


def _disclosure(prompt: str) -> str:
    """The recording disclosure the prompt tells the agent to say: the quoted text after "say
    this" (added when a custom prompt has no place for it), else, in the prompt's opening
    section, the line's text from the sentence that mentions the recording on."""
    quoted = _SAY_THIS.search(prompt)
    if quoted:
        return quoted.group(1).strip()
    section, inside = [], False
    for line in prompt.splitlines():
        if line.lstrip().startswith("#"):
            inside = "opening" in line.lower()
            continue
        if inside:
            section.append(line)
    for line in section:
        found = _SENTENCE.search(line)
        if found:
            return found.group(0).strip()
    return ""


def _company(prompt: str) -> str | None:
    match = re.search(r"on behalf of (.{2,80}?) to ", prompt) or re.search(
        r"calling for (.{2,80}?) about", prompt)
    return match.group(1).strip() if match else None


def greeting_line(prompt: str | None, first_speaker: dict[str, Any] | None, *, disclose: bool = True,
                  ask_consent: bool = False) -> str:
    """The agent's first turn: the configured greeting (else one made from the prompt), the
    recording disclosure the prompt asks for (unless this agent skips it), then the question
    about consent to the recording when the call offers the recordingConsent tool, else
    whether now is a good time."""
    prompt = prompt or ""
    greeting = _opening_text(first_speaker)
    if not greeting:
        title, company = _job_title(prompt), _company(prompt)
        about = f"the {title} position" if title else "your job application"
        greeting = (f"Hi, this is an AI assistant calling for {company} about {about}." if company
                    else f"Hi, this is an automated assistant calling about {about}.")
    parts = [greeting]
    disclosure = _disclosure(prompt) if disclose else ""
    if disclosure and disclosure not in greeting:
        parts.append(disclosure)
    parts.append(_CONSENT_QUESTION if ask_consent
                 else "Do you have a few minutes for some quick screening questions?")
    return " ".join(parts)


def _tool(name: str, **args: Any) -> Line:
    return Line("tool", name, args)


def _consent_exchange(*, refuses: bool) -> list[Line]:
    """The candidate's answer to the consent question and the agent's report (59 refuses)."""
    if not refuses:
        return [Line("user", "Yes, that's fine. Go ahead."), _tool(CONSENT_TOOL, granted=True)]
    return [Line("user", "No, I don't want this call recorded. I can still answer your questions."),
            _tool(CONSENT_TOOL, granted=False),
            Line("agent", "Understood: this call will not be kept as a recording. Let's go on.")]


def build_script(prompt: str | None, phone: str, outcome: Outcome, tools: frozenset[str] = frozenset(),
                 voicemail_message: str | None = None,
                 first_speaker: dict[str, Any] | None = None) -> Script:
    """The conversation of one call: deterministic per phone number, shaped by the outcome.

    The agent uses only what Ultravox would give it: the prompt (questions, their types, the
    disclosure), `firstSpeakerSettings` (the greeting) and the call's tools (`tools`: the names
    it may call); never our database.
    """
    rng = random.Random(phone or "sandbox")  # simulated answers, not security  # nosec B311
    typed = typed_questions(prompt)
    questions = [q.text for q in typed]
    title = _job_title(prompt or "")
    about = f"the {title} position" if title else "your job application"
    # Number 60's agent skips the disclosure (and so never asks for consent to the recording).
    skips = outcome == Outcome.NO_DISCLOSURE
    asks_consent = CONSENT_TOOL in tools and not skips
    greeting = greeting_line(prompt, first_speaker, disclose=not skips, ask_consent=asks_consent)
    # The candidate opens with "Hello?" only when the agent waits for them (user first).
    lines = [Line("user", "Hello?")] if _candidate_speaks_first(first_speaker) else []

    if outcome == Outcome.VOICEMAIL:
        message = voicemail_message or (f"Hello, this is Alex calling about {about}. We'll try you "
                                        "again soon. Thank you, goodbye.")
        lines = [Line("user", "Hi, you've reached my voicemail. Please leave a message after the tone.")]
        if "leaveVoicemail" in tools:
            lines.append(_tool("leaveVoicemail", message=message))
        lines.append(Line("agent", message))
        return Script(lines, "agent_hangup", "Reached voicemail and left a message.",
                      "The call reached voicemail. The agent left a short message saying "
                      "it would call again.", questions)

    lines.append(Line("agent", greeting))
    if outcome == Outcome.OPT_OUT:
        lines.append(Line("user", "No. Please stop calling me, don't call me again."))
        if "candidateOptOut" in tools:
            lines.append(_tool("candidateOptOut", reason="asked not to be called again"))
        lines.append(Line("agent", "I understand, and I'm sorry for the trouble. We won't call you "
                                   "again. Goodbye."))
        return Script(lines, "agent_hangup", "The candidate asked not to be called again.",
                      "The candidate declined the screening and asked not to be called "
                      "again. The agent apologised and ended the call.", questions)
    if outcome == Outcome.ASKS_HUMAN:
        lines.append(Line("user", "Actually, could I speak to a person instead? I'd need an "
                                  "accommodation for the interview."))
        if "requestHuman" in tools:
            lines.append(_tool("requestHuman", reason="wants a person; needs an accommodation"))
        lines.append(Line("agent", "Of course. A member of the hiring team will contact you about "
                                   "that. Thank you for your time, goodbye."))
        return Script(lines, "agent_hangup", "The candidate asked to speak to a person.",
                      "The candidate asked for a person and an accommodation; the agent said the "
                      "hiring team would follow up and ended the call.", questions)
    if outcome == Outcome.CALLBACK:
        lines.append(Line("user", "I'm driving right now. Could you call me back tomorrow at 3 pm?"))
        if "requestCallback" in tools:
            lines.append(_tool("requestCallback", when=f"{_tomorrow(prompt).isoformat()}T15:00"))
        lines.append(Line("agent", "Of course, we'll call you back tomorrow at 3 pm. Drive safely, "
                                   "goodbye."))
        return Script(lines, "agent_hangup", "The candidate asked to be called back tomorrow.",
                      "The candidate was busy and asked to be called back tomorrow at 3 pm; the "
                      "agent agreed and ended the call.", questions)

    agrees = rng.choice(["Sure, go ahead.", "Yes, now is fine.", "Okay, I have a few minutes."])
    if asks_consent:
        lines += _consent_exchange(refuses=outcome == Outcome.REFUSES_RECORDING)
    else:
        lines.append(Line("user", agrees))
    answers: list[tuple[str, str]] = []
    asked = typed[:1] if outcome == Outcome.DROPPED else typed
    recorded: list[tuple[PromptQuestion, str]] = []
    for q in asked:
        answer, value = _typed_answer(q, rng)
        answers.append((q.text, answer))
        lines += [Line("agent", q.text), Line("user", answer)]
        if "recordAnswer" in tools and q.number is not None:
            lines.append(_tool("recordAnswer", question=q.number, answer_text=answer, value=value))
            recorded.append((q, value))
    if outcome == Outcome.DROPPED:
        return Script(lines, "connection_error", "The call dropped during the screening.",
                      f"The line dropped after {len(answers)} of {len(questions)} questions. "
                      f"{answers[0][0]} The candidate said: {answers[0][1]}", questions)
    if outcome == Outcome.CORRECTS and recorded:
        q, old = recorded[0]
        answer, value = _typed_answer(q, rng, other_than=old)
        lines += [Line("user", f"Sorry, before you go, I need to correct my first answer. {answer}")]
        lines.append(_tool("recordAnswer", question=q.number, answer_text=answer, value=value))
        lines.append(Line("agent", "Thanks for letting me know, I've updated that."))
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
