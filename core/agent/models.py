"""Voice-agent settings: the global document and a job's overrides, as typed models."""

from __future__ import annotations

import datetime as _dt  # noqa: E402 - kept next to the models that use it
from decimal import Decimal  # noqa: E402
from enum import StrEnum
from typing import Annotated, Any  # noqa: E402

from pydantic import (  # noqa: E402
    BaseModel,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from core.agent.questions import ScreeningQuestion, with_ids
from core.people.places import ALL_PARTY_CONSENT_DEFAULT, normalize_place
from core.timezones import UTC_NAME, valid_zone

DEFAULT_MODEL = "ultravox-v0.7"  # Ultravox's default alias (reference §1.2)
MAX_QUESTIONS = 20
MAX_PROMPT_CHARS = 20_000


class VoiceModel(BaseModel):
    """A model alias Ultravox offers (`GET /api/models`); the default one is listed first."""

    name: str
    is_default: bool = False

    @staticmethod
    def ordered(names: list[str]) -> list[VoiceModel]:
        """Models from the API's names, the Ultravox default first, the rest as given."""
        unique = list(dict.fromkeys(n for n in names if n))
        if DEFAULT_MODEL in unique:
            unique.remove(DEFAULT_MODEL)
        unique.insert(0, DEFAULT_MODEL)
        return [VoiceModel(name=n, is_default=n == DEFAULT_MODEL) for n in unique]


class VoiceLanguage(StrEnum):
    """Language hints offered in the UI: BCP47 codes (Ultravox `languageHint`)."""

    EN_US = "en-US"
    EN_GB = "en-GB"
    EN_AU = "en-AU"
    EN_IN = "en-IN"
    ES = "es"
    ES_ES = "es-ES"
    ES_MX = "es-MX"
    FR = "fr"
    FR_FR = "fr-FR"
    FR_CA = "fr-CA"
    DE = "de"
    DE_DE = "de-DE"
    IT = "it"
    PT_BR = "pt-BR"
    PT_PT = "pt-PT"
    NL = "nl"
    PL = "pl"
    SV = "sv"
    TR = "tr"
    HI = "hi"
    AR = "ar"
    JA = "ja"
    KO = "ko"
    ZH = "zh"

    @property
    def label(self) -> str:
        """Human name of the language, e.g. "English (United States)"."""
        return _LANGUAGE_LABELS[self]


_LANGUAGE_LABELS: dict[VoiceLanguage, str] = {
    VoiceLanguage.EN_US: "English (United States)",
    VoiceLanguage.EN_GB: "English (United Kingdom)",
    VoiceLanguage.EN_AU: "English (Australia)",
    VoiceLanguage.EN_IN: "English (India)",
    VoiceLanguage.ES: "Spanish",
    VoiceLanguage.ES_ES: "Spanish (Spain)",
    VoiceLanguage.ES_MX: "Spanish (Mexico)",
    VoiceLanguage.FR: "French",
    VoiceLanguage.FR_FR: "French (France)",
    VoiceLanguage.FR_CA: "French (Canada)",
    VoiceLanguage.DE: "German",
    VoiceLanguage.DE_DE: "German (Germany)",
    VoiceLanguage.IT: "Italian",
    VoiceLanguage.PT_BR: "Portuguese (Brazil)",
    VoiceLanguage.PT_PT: "Portuguese (Portugal)",
    VoiceLanguage.NL: "Dutch",
    VoiceLanguage.PL: "Polish",
    VoiceLanguage.SV: "Swedish",
    VoiceLanguage.TR: "Turkish",
    VoiceLanguage.HI: "Hindi",
    VoiceLanguage.AR: "Arabic",
    VoiceLanguage.JA: "Japanese",
    VoiceLanguage.KO: "Korean",
    VoiceLanguage.ZH: "Chinese",
}


class VoiceInfo(BaseModel):
    """A voice of the library (from `GET /api/voices`, cached); `preview_url` stays server-side."""

    voice_id: str
    name: str
    description: str = ""
    primary_language: str | None = None
    language_label: str | None = None
    provider: str | None = None
    preview_url: str | None = None
    ownership: str | None = None
    billing_style: str | None = None

    def matches(self, ref: str) -> bool:
        """True if `ref` (a voice id or a voice name, as Ultravox accepts both) is this voice."""
        ref = (ref or "").strip()
        return bool(ref) and (ref == self.voice_id or ref.casefold() == self.name.casefold())


class _Strict(BaseModel):
    # Unknown keys are refused so a typo in a stored or submitted config is not silently dropped.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OpeningMode(StrEnum):
    """Who speaks first (Ultravox `firstSpeakerSettings`)."""

    AGENT_TEXT = "agent_text"  # agent says a fixed greeting
    AGENT_PROMPT = "agent_prompt"  # agent generates its greeting from an instruction
    USER_FIRST = "user_first"  # agent waits for "Hello?", then greets; fallback if silent


class CallOpening(_Strict):
    """How the call opens; `text` is the greeting, the greeting instruction, or the fallback."""

    mode: OpeningMode = OpeningMode.USER_FIRST
    text: str = Field(min_length=1, max_length=1000)
    fallback_delay_seconds: int = Field(6, ge=1, le=30)
    uninterruptible: bool = False

    def first_speaker_settings(self, rendered_text: str) -> dict[str, Any]:
        """The Ultravox `firstSpeakerSettings` object for this opening."""
        if self.mode == OpeningMode.AGENT_TEXT:
            agent: dict[str, Any] = {"text": rendered_text}
        elif self.mode == OpeningMode.AGENT_PROMPT:
            agent = {"prompt": rendered_text}
        else:
            return {"user": {"fallback": {"delay": f"{self.fallback_delay_seconds}s",
                                          "text": rendered_text}}}
        if self.uninterruptible:
            agent["uninterruptible"] = True
        return {"agent": agent}


class EndBehavior(StrEnum):
    """What happens after an inactivity message (Ultravox `endBehavior`)."""

    KEEP_WAITING = "keep_waiting"
    HANG_UP_SOFT = "hang_up_soft"
    HANG_UP_STRICT = "hang_up_strict"

    @property
    def ultravox(self) -> str:
        """The Ultravox enum value."""
        return {
            EndBehavior.KEEP_WAITING: "END_BEHAVIOR_UNSPECIFIED",
            EndBehavior.HANG_UP_SOFT: "END_BEHAVIOR_HANG_UP_SOFT",
            EndBehavior.HANG_UP_STRICT: "END_BEHAVIOR_HANG_UP_STRICT",
        }[self]


class InactivityMessage(_Strict):
    """Said after `duration_seconds` of candidate silence (counted from the previous one)."""

    duration_seconds: int = Field(ge=2, le=300)
    message: str = Field(min_length=1, max_length=500)
    end_behavior: EndBehavior = EndBehavior.KEEP_WAITING


class Weekday(StrEnum):
    """Days of the week, Monday first (matches `datetime.weekday()` order)."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class TimeWindow(_Strict):
    """A window of local time on one day, start inclusive, end exclusive."""

    start: _dt.time
    end: _dt.time

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.end <= self.start:
            raise ValueError("a calling window must end after it starts")
        return self


def _default_windows() -> dict[Weekday, list[TimeWindow]]:
    weekday = [TimeWindow(start=_dt.time(9, 0), end=_dt.time(18, 0))]
    return {d: list(weekday) for d in (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)}


class CallingHours(_Strict):
    """When candidates may be called, in each candidate's own local time; a missing day = no calls."""

    windows: dict[Weekday, list[TimeWindow]] = Field(default_factory=_default_windows)

    def allows(self, local: _dt.datetime) -> bool:
        """True if `local` (the candidate's local wall-clock time) falls in a window."""
        day = list(Weekday)[local.weekday()]
        now = local.time().replace(tzinfo=None)
        return any(w.start <= now < w.end for w in self.windows.get(day, []))


class RetryPolicy(_Strict):
    """Attempts per candidate (the first call included) and the wait between them."""

    max_attempts: int = Field(3, ge=1, le=10)
    spacing_minutes: int = Field(240, ge=5, le=10_080)
    retry_after_voicemail: bool = True


class ConsentScope(StrEnum):
    """Where the candidate is asked to agree to the recording (core.compliance.recording_consent)."""

    ALL_PARTY_PLACES = "all_party_places"  # only where every party must agree (the listed places)
    EVERYWHERE = "everywhere"


class ConsentMethod(StrEnum):
    """How consent to the recording is handled where it is needed."""

    ASK = "ask"  # the agent asks after the disclosure and reports with recordingConsent
    RECORD_NOTHING = "record_nothing"  # the call is created with recording off


class GlobalVoiceConfig(_Strict):
    """The agent's settings for every job (a job may override any field)."""

    # Voice and model
    model: str = Field(DEFAULT_MODEL, min_length=1, max_length=100)
    voice: str = Field("Mark", min_length=1, max_length=100)  # Ultravox voice id or unique name
    language_hint: VoiceLanguage = VoiceLanguage.EN_US
    temperature: float = Field(0.3, ge=0, le=1)
    # What the agent says (templates, see core.voice_config.PLACEHOLDERS)
    company_name: str = Field("", max_length=200)  # used when the job does not name one
    system_prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    opening: CallOpening
    screening_questions: list[ScreeningQuestion] = Field(default_factory=list, max_length=MAX_QUESTIONS)
    recording_enabled: bool = True
    recording_disclosure: str = Field("", max_length=500)
    voicemail_message: str = Field(min_length=1, max_length=500)
    max_duration_minutes: int = Field(15, ge=1, le=60)
    time_exceeded_message: str = Field(min_length=1, max_length=500)
    inactivity_messages: list[InactivityMessage] = Field(default_factory=list, max_length=5)
    # Consent and pacing
    require_consent: bool = True
    calling_hours: CallingHours = Field(default_factory=CallingHours)
    retry_policy: RetryPolicy = Field(default_factory=RetryPolicy)
    max_concurrent_calls: int = Field(5, ge=1, le=100)
    calls_per_second: float = Field(1.0, gt=0, le=50)
    monthly_budget: Decimal = Field(Decimal("500.00"), ge=0, le=Decimal("1000000"), decimal_places=2)
    # Data retention by job stage: days after the job was closed or archived before its calls'
    # recordings / transcripts (and the answers' words) are deleted; RETENTION_DAYS caps both.
    recording_retention_days: int = Field(30, ge=0, le=3650)
    transcript_retention_days: int = Field(90, ge=0, le=3650)
    # The organisation's calendar (global only): the days usage is counted under and the budget
    # month follow this zone (core.usage.period).
    organisation_zone: str = Field(UTC_NAME, min_length=1, max_length=64)
    # Compliance (global only): the key phrases the agent's first two turns must contain for the
    # AI and recording disclosure to count as said, and the places whose law asks every party of
    # a call to agree to its recording (US states as "US-CA", countries as "DE").
    disclosure_phrases: list[str] = Field(default_factory=lambda: ["AI", "recorded"], max_length=10)
    all_party_consent_places: list[str] = Field(
        default_factory=lambda: list(ALL_PARTY_CONSENT_DEFAULT), max_length=300)
    # Recording consent (global only): where a candidate who has not agreed in advance must agree
    # to the recording, how (asked on the call, or no recording at all), and whether the
    # transcript is kept when they refuse (the answers recorded through tools always are).
    recording_consent_scope: ConsentScope = ConsentScope.ALL_PARTY_PLACES
    recording_consent_method: ConsentMethod = ConsentMethod.ASK
    transcript_without_recording: bool = False

    @field_validator("organisation_zone", mode="after")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if not valid_zone(value):
            raise ValueError(f"“{value}” is not a time zone this system knows; pick one from the list "
                             "(for example Europe/London or America/New_York)")
        return value

    @field_validator("disclosure_phrases", mode="after")
    @classmethod
    def _phrases(cls, value: list[str]) -> list[str]:
        phrases = [" ".join(p.split()) for p in value]
        if not all(phrases):
            raise ValueError("A disclosure key phrase cannot be blank.")
        if any(len(p) > 60 for p in phrases):
            raise ValueError("Keep each disclosure key phrase under 60 characters.")
        return list(dict.fromkeys(phrases))

    @field_validator("all_party_consent_places", mode="after")
    @classmethod
    def _places(cls, value: list[str]) -> list[str]:
        # normalize_place raises a ValueError saying what it accepts.
        return list(dict.fromkeys(code for code in map(normalize_place, value) if code))

    @field_validator("screening_questions", mode="after")
    @classmethod
    def _question_ids(cls, value: list[ScreeningQuestion]) -> list[ScreeningQuestion]:
        # Answers and ratings key questions by id: ids are unique within one configuration.
        return with_ids(value)

    @field_validator("monthly_budget", mode="before")
    @classmethod
    def _money(cls, value: Any) -> Any:
        # Floats from a number widget would carry binary noise into a money amount.
        return Decimal(str(value)) if isinstance(value, float) else value

    @model_validator(mode="after")
    def _disclosure(self) -> GlobalVoiceConfig:
        # Kept even with recording off: a job may turn recording on and inherits this sentence,
        # so no combination of global and job settings records a call without a disclosure.
        if not self.recording_disclosure:
            raise ValueError("recording_disclosure_required" if self.recording_enabled
                             else "recording_disclosure_kept")
        return self


# Settings of the whole organisation that a job cannot override.
# The recording-consent policy is a legal one of the organisation, like the places list: a job
# must not be able to weaken it, so it is global only.
GLOBAL_ONLY_FIELDS: tuple[str, ...] = ("organisation_zone", "disclosure_phrases", "all_party_consent_places",
                                       "recording_consent_scope", "recording_consent_method",
                                       "transcript_without_recording")


def _all_optional(model: type[BaseModel], name: str, doc: str) -> type[BaseModel]:
    # Same names, types and bounds as the global model, each optional: one source of truth.
    fields: dict[str, Any] = {
        key: (Annotated[info.annotation | None, *info.metadata] if info.metadata
              else info.annotation | None, None)
        for key, info in model.model_fields.items() if key not in GLOBAL_ONLY_FIELDS
    }
    built = create_model(name, __base__=_JobBase, __doc__=doc, **fields)
    built.__module__ = __name__
    return built


class _JobBase(_Strict):
    @model_validator(mode="after")
    def _question_ids(self) -> Any:
        # A job's question list replaces the global one whole: its ids are unique by themselves.
        questions = getattr(self, "screening_questions", None)
        if questions:
            self.screening_questions = with_ids(questions)
        return self

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        # The design says a job overrides with its *non-empty* values: "", "  " and [] inherit.
        if isinstance(data, dict):
            return {
                k: (None if (isinstance(v, str) and not v.strip()) or v == [] else v)
                for k, v in data.items()
            }
        return data


JobVoiceConfig = _all_optional(
    GlobalVoiceConfig,
    "JobVoiceConfig",
    "A job's overrides: the global fields but the global-only ones, each optional (None = inherit).",
)

CONFIG_FIELDS: tuple[str, ...] = tuple(GlobalVoiceConfig.model_fields)
JOB_FIELDS: tuple[str, ...] = tuple(n for n in CONFIG_FIELDS if n not in GLOBAL_ONLY_FIELDS)
