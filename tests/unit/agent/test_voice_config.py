"""Voice config: merge semantics, validation messages, template rendering (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.agent import defaults as agent_defaults
from core.agent import effective as agent_effective
from core.agent import prompts as agent_prompts
from core.agent import validation as agent_validation
from core.agent import voice_catalog
from core.agent.models import (
    CONFIG_FIELDS,
    GLOBAL_ONLY_FIELDS,
    JOB_FIELDS,
    CallingHours,
    CallOpening,
    ConsentMethod,
    ConsentScope,
    EndBehavior,
    GlobalVoiceConfig,
    InactivityMessage,
    JobVoiceConfig,
    OpeningMode,
    RetryPolicy,
    ScreeningQuestion,
    TimeWindow,
    VoiceInfo,
    VoiceLanguage,
    VoiceModel,
    Weekday,
)

_WORDS = st.text(alphabet="abcdefghij klmnop", min_size=1, max_size=30).filter(lambda s: s.strip())
_SPOKEN = st.sampled_from(["Hi {{candidate_first_name}}", "About {{job_title}} at {{company_name}}"])

# One strategy per field, each producing only individually valid values.
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "model": st.sampled_from(["ultravox-v0.7", "ultravox-v0.6"]),
    "voice": st.sampled_from(["Mark", "Jessica", "Emily-English"]),
    "language_hint": st.sampled_from(list(VoiceLanguage)),
    "temperature": st.floats(0, 1, allow_nan=False),
    "company_name": _WORDS,
    "system_prompt": st.one_of(_WORDS, st.just(agent_defaults.DEFAULT_SYSTEM_PROMPT),
                               st.just("Screen {{candidate_name}}: {{questions}}")),
    "opening": st.builds(CallOpening, mode=st.sampled_from(list(OpeningMode)),
                         text=st.one_of(_WORDS, _SPOKEN),
                         fallback_delay_seconds=st.integers(1, 30), uninterruptible=st.booleans()),
    "screening_questions": st.lists(st.builds(ScreeningQuestion, text=st.one_of(_WORDS, _SPOKEN),
                                              guidance=st.one_of(st.just(""), _WORDS)),
                                    min_size=1, max_size=4),
    "recording_enabled": st.booleans(),
    "recording_disclosure": st.one_of(_WORDS, st.just(agent_defaults.DEFAULT_DISCLOSURE)),
    "voicemail_message": st.one_of(_WORDS, _SPOKEN),
    "max_duration_minutes": st.integers(1, 60),
    "time_exceeded_message": _WORDS,
    "inactivity_messages": st.lists(st.builds(InactivityMessage, duration_seconds=st.integers(2, 300),
                                              message=_WORDS,
                                              end_behavior=st.sampled_from(list(EndBehavior))),
                                    min_size=1, max_size=3),
    "require_consent": st.booleans(),
    "calling_hours": st.builds(CallingHours),
    "retry_policy": st.builds(RetryPolicy, max_attempts=st.integers(1, 10),
                              spacing_minutes=st.integers(5, 10_080), retry_after_voicemail=st.booleans()),
    "max_concurrent_calls": st.integers(1, 100),
    "calls_per_second": st.floats(0.1, 50, allow_nan=False),
    "monthly_budget": st.decimals(0, 100_000, places=2, allow_nan=False, allow_infinity=False),
    "recording_retention_days": st.integers(0, 3650),
    "transcript_retention_days": st.integers(0, 3650),
    "organisation_zone": st.sampled_from(["UTC", "America/New_York", "Europe/Paris", "Asia/Tokyo"]),
    "disclosure_phrases": st.lists(st.sampled_from(["AI", "recorded", "assistant", "automated"]),
                                   max_size=4),
    "all_party_consent_places": st.lists(st.sampled_from(["US-CA", "California", "GB", "DE", "us-wa"]),
                                         max_size=5),
    "recording_consent_scope": st.sampled_from(list(ConsentScope)),
    "recording_consent_method": st.sampled_from(list(ConsentMethod)),
    "transcript_without_recording": st.booleans(),
}


def test_strategies_cover_every_field() -> None:
    assert set(FIELD_VALUES) == set(CONFIG_FIELDS)
    # Every global field but the organisation's own can be overridden by a job.
    assert set(JobVoiceConfig.model_fields) == set(GlobalVoiceConfig.model_fields) - set(GLOBAL_ONLY_FIELDS)
    assert set(JOB_FIELDS) == set(JobVoiceConfig.model_fields)


@st.composite
def globals_(draw: st.DrawFn) -> GlobalVoiceConfig:
    """A valid global config: the default with a random subset of fields changed."""
    names = draw(st.lists(st.sampled_from(CONFIG_FIELDS), unique=True))
    values = {n: draw(FIELD_VALUES[n]) for n in names}
    default = agent_effective.as_plain(agent_defaults.default_global_config())
    return agent_validation.validate_global({**default, **agent_validation._plain_input(values)})


@st.composite
def jobs_(draw: st.DrawFn) -> Any:
    names = draw(st.lists(st.sampled_from(JOB_FIELDS), unique=True))
    return agent_validation.validate_job({n: draw(FIELD_VALUES[n]) for n in names})


_FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# -- merge semantics ---------------------------------------------------------------------


@_FAST
@given(globals_())
def test_empty_override_equals_global(g: GlobalVoiceConfig) -> None:
    assert agent_effective.effective_config(g, JobVoiceConfig()) == g
    assert agent_effective.effective_config(g, None) == g
    blank = JobVoiceConfig.model_validate({"system_prompt": "  ", "voice": "", "screening_questions": []})
    assert agent_effective.overridden_fields(blank) == []
    assert agent_effective.effective_config(g, blank) == g


@_FAST
@given(globals_(), jobs_(), st.data())
def test_reset_removes_exactly_one_override(g: GlobalVoiceConfig, job: Any, data: st.DataObject) -> None:
    before = agent_effective.overridden_fields(job)
    name = data.draw(st.sampled_from(JOB_FIELDS))
    after = agent_effective.reset_field(job, name)
    assert agent_effective.overridden_fields(after) == [f for f in before if f != name]
    eff = agent_effective.effective_config(g, after)
    assert getattr(eff, name) == getattr(g, name)
    for other in agent_effective.overridden_fields(after):
        assert getattr(after, other) == getattr(job, other)


@_FAST
@given(globals_(), jobs_())
def test_effective_is_valid_whenever_global_is(g: GlobalVoiceConfig, job: Any) -> None:
    eff = agent_effective.effective_config(g, job)
    assert agent_validation.validate_global(eff) == eff
    for name in CONFIG_FIELDS:
        expected = getattr(job, name) if name in agent_effective.overridden_fields(job) else getattr(g, name)
        if name in agent_effective.CAPPED_FIELDS:
            expected = min(expected, getattr(g, name))  # the global limits stay ceilings
        assert getattr(eff, name) == expected


def test_field_by_field_override() -> None:
    g = agent_defaults.default_global_config()
    job = JobVoiceConfig(temperature=0.9, voice="Jessica")
    eff = agent_effective.effective_config(g, job)
    assert (eff.temperature, eff.voice, eff.model) == (0.9, "Jessica", g.model)
    assert agent_effective.overridden_fields(job) == ["voice", "temperature"]


def test_reset_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="not a setting"):
        agent_effective.reset_field(JobVoiceConfig(), "nope")


def test_shipped_default_is_valid_and_careful() -> None:
    g = agent_validation.validate_global(agent_defaults.default_global_config())
    prompt = g.system_prompt
    for must in ("hangUp", "leaveVoicemail", "AI assistant", "{{candidate_first_name}}", "religion",
                 "nationality", "age", "health", "not to be called again", "what happens next"):
        assert must.lower() in prompt.lower(), must
    assert g.recording_enabled and g.recording_disclosure
    assert g.opening.mode == OpeningMode.USER_FIRST  # agent waits for "Hello?" (reference §3)
    assert g.inactivity_messages[-1].end_behavior == EndBehavior.HANG_UP_SOFT
    assert 1 <= g.max_duration_minutes <= 60 and isinstance(g.monthly_budget, Decimal)


# -- validation messages -----------------------------------------------------------------


def _problems(**changes: Any) -> list[str]:
    data = {**agent_effective.as_plain(agent_defaults.default_global_config()), **changes}
    with pytest.raises(agent_validation.ConfigValidationError) as info:
        agent_validation.validate_global(data)
    return info.value.messages


def test_empty_prompt_message() -> None:
    assert _problems(system_prompt="   ") == ["System prompt cannot be empty."]


@pytest.mark.parametrize(("field", "value", "text"), [
    ("temperature", 1.5, "Temperature must be at most 1"),
    ("temperature", -0.1, "Temperature must be at least 0"),
    ("max_duration_minutes", 0, "Maximum call length (minutes) must be at least 1"),
    ("max_duration_minutes", 61, "Maximum call length (minutes) must be at most 60"),
    ("max_concurrent_calls", 0, "Maximum concurrent calls must be at least 1"),
    ("recording_retention_days", -1, "Keep recordings after the job closes (days) must be at least 0"),
    ("transcript_retention_days", 3651, "Keep transcripts after the job closes (days) must be at most 3650"),
    ("calls_per_second", 0, "Calls per second must be more than 0"),
    ("monthly_budget", "-1", "Monthly budget (USD) must be at least 0"),
    ("monthly_budget", "1.234", "at most 2 decimals"),
])
def test_out_of_range_messages(field: str, value: Any, text: str) -> None:
    assert any(text in m for m in _problems(**{field: value}))


def test_nested_out_of_range_messages() -> None:
    msgs = _problems(retry_policy={"max_attempts": 0, "spacing_minutes": 60, "retry_after_voicemail": True},
                     calling_hours={"windows": {"mon": [{"start": "18:00", "end": "09:00"}]}},
                     screening_questions=[{"text": "ok"}, {"text": ""}])
    assert "Retry policy (attempts) must be at least 1." in msgs
    assert "Calling hours on Monday: a calling window must end after it starts." in msgs
    assert "Screening question 2 (text) cannot be empty." in msgs


def test_unknown_placeholder_message() -> None:
    msgs = _problems(system_prompt="Hello {{candidate_name}}, your {{salary}} is {{ job_title }}")
    assert len(msgs) == 1 and "{{salary}}" in msgs[0] and "{{candidate_name}}" in msgs[0]
    # Prompt-only placeholders are refused in short spoken texts.
    msgs = _problems(time_exceeded_message="Bye {{questions}}")
    assert "time-exceeded message" in msgs[0] and "{{questions}}" in msgs[0]
    assert any("braces" in m for m in _problems(system_prompt="Hi {{candidate_name}"))


def test_recording_without_disclosure_message() -> None:
    msgs = _problems(recording_enabled=True, recording_disclosure="")
    assert msgs and "Recording is on" in msgs[0]
    msgs = _problems(recording_enabled=False, recording_disclosure="")
    assert "Keep a recording disclosure" in msgs[0]
    # Reported together with other problems, not hidden behind them.
    msgs = _problems(recording_disclosure="", temperature=3)
    assert any("Recording is on" in m for m in msgs) and any("Temperature" in m for m in msgs)


def test_job_validation_uses_same_rules() -> None:
    with pytest.raises(agent_validation.ConfigValidationError) as info:
        agent_validation.validate_job({"temperature": 2, "opening": {"mode": "agent_text",
                                                                     "text": "Hi {{bar}}"}})
    msgs = info.value.messages
    assert "Temperature must be at most 1." in msgs[0]
    assert "{{bar}}" in msgs[1]
    with pytest.raises(agent_validation.ConfigValidationError, match="is not a setting"):
        agent_validation.validate_job({"colour": "blue"})


def test_job_messages_for_a_too_long_call_and_an_unknown_placeholder() -> None:
    with pytest.raises(agent_validation.ConfigValidationError) as info:
        agent_validation.validate_job({"max_duration_minutes": 90, "system_prompt": "Hi {{nickname}}"})
    assert "Maximum call length (minutes) must be at most 60." in info.value.messages
    assert any("{{nickname}}" in m for m in info.value.messages)


def test_an_empty_prompt_is_reported_with_the_other_problems() -> None:
    msgs = _problems(system_prompt="", temperature=4)
    assert "System prompt cannot be empty." in msgs
    assert any("Temperature must be at most 1" in m for m in msgs)


def test_unknown_voice_message() -> None:
    library = [VoiceInfo(voice_id="v1", name="Mark"), VoiceInfo(voice_id="v2", name="Jessica")]
    assert agent_validation.voice_problems("mark", library) == []
    assert agent_validation.voice_problems("v2", library) == []
    assert "not in the Ultravox voice library" in agent_validation.voice_problems("Ghost", library)[0]
    assert agent_validation.voice_problems("Ghost", None) == []  # library unknown: no false alarm


# -- rendering ---------------------------------------------------------------------------


def test_render_prompt_fills_everything() -> None:
    g = agent_defaults.default_global_config()
    text = agent_prompts.render_prompt(g, candidate_name="  Alex   Morgan ", job_title="Barista",
                                       company_name="Bean Co")
    # The candidate's name goes in as quoted data (issue 13, item 17).
    assert "{{" not in text and 'Greet "Alex" by name' in text and '"Alex Morgan"' in text
    assert "Bean Co" in text and "Barista" in text
    assert "1. Could you tell me" in text and "Guidance, not to be read out" in text
    assert "this call is recorded" in text


def test_render_company_falls_back_to_setting() -> None:
    g = agent_defaults.default_global_config().model_copy(update={"company_name": "Acme"})
    text = agent_prompts.render_prompt(g, candidate_name="Sam", job_title="Driver", company_name="")
    assert "on behalf of Acme" in text


def test_disclosure_and_hangup_added_to_custom_prompt() -> None:
    g = agent_validation.validate_global({**agent_effective.as_plain(agent_defaults.default_global_config()),
                            "system_prompt": "Ask {{candidate_name}} the {{questions}}."})
    text = agent_prompts.render_prompt(g, candidate_name="Sam", job_title="Driver", company_name="Acme")
    assert "this call is recorded" in text and "hangUp tool" in text
    off = g.model_copy(update={"recording_enabled": False})
    assert "recorded so" not in agent_prompts.render_prompt(off, candidate_name="Sam", job_title="Driver",
                                                 company_name="Acme")


def test_call_request_fields_match_ultravox_shapes() -> None:
    g = agent_defaults.default_global_config()
    spoken = agent_prompts.render_spoken(g, candidate_name="Sam Lee", job_title="Driver", company_name="Acme")
    body = agent_prompts.call_request_fields(g, "PROMPT", spoken)
    assert body["maxDuration"] == "900s" and body["languageHint"] == "en-US"
    assert body["firstSpeakerSettings"] == {"user": {"fallback": {"delay": "6s", "text": spoken["opening"]}}}
    assert body["inactivityMessages"][-1]["endBehavior"] == "END_BEHAVIOR_HANG_UP_SOFT"
    assert [t["toolName"] for t in body["selectedTools"]] == ["hangUp", "leaveVoicemail"]
    assert "Sam" in body["selectedTools"][1]["parameterOverrides"]["message"]
    agent = CallOpening(mode=OpeningMode.AGENT_TEXT, text="Hi", uninterruptible=True)
    assert agent.first_speaker_settings("Hi") == {"agent": {"text": "Hi", "uninterruptible": True}}


def test_placeholders_documented() -> None:
    for name in ("candidate_name", "job_title", "company_name", "questions"):
        assert name in agent_prompts.PLACEHOLDERS
    assert agent_prompts.placeholders_in("{{a}} {{ b }} {{a}}") == ["a", "b"]


def test_calling_hours_and_models() -> None:
    hours = CallingHours(windows={Weekday.MON: [TimeWindow(start=time(9), end=time(17))]})
    assert hours.allows(datetime(2026, 3, 2, 9, 0))  # a Monday
    assert not hours.allows(datetime(2026, 3, 2, 17, 0))
    assert not hours.allows(datetime(2026, 3, 3, 10, 0))  # Tuesday: no window
    models = VoiceModel.ordered(["ultravox-v0.6", "ultravox-v0.7", "ultravox-v0.6"])
    assert [m.name for m in models] == ["ultravox-v0.7", "ultravox-v0.6"] and models[0].is_default
    assert VoiceLanguage.EN_GB.label == "English (United Kingdom)"


def test_filter_voices() -> None:
    voices = [VoiceInfo(voice_id="1", name="Mark", primary_language="en-US", provider="cartesia"),
              VoiceInfo(voice_id="2", name="Hugo", primary_language="fr-FR", provider="eleven_labs",
                        description="calm")]
    assert [v.name for v in voice_catalog.filter_voices(voices, search="CALM")] == ["Hugo"]
    assert [v.name for v in voice_catalog.filter_voices(voices, languages=["en-US"])] == ["Mark"]
    assert voice_catalog.filter_voices(voices, providers=["lmnt"]) == []


def test_describe_value() -> None:
    assert agent_effective.describe_value(True) == "on" and agent_effective.describe_value(None) == "—"
    # Lists of questions are counted here; their changes get a row each (test_settings_text.py).
    assert agent_effective.describe_value([{"text": "a"}, {"text": "b"}]) == "2 questions."
    assert " | " not in agent_effective.describe_value([{"text": "a"}, {"text": "b"}])
    assert agent_effective.describe_value("x" * 500).endswith("…")


def test_spoken_questions_have_their_placeholders_filled() -> None:
    from core.agent.models import ScreeningQuestion

    question = ScreeningQuestion(text="Why the {{job_title}} role at {{company_name}}?")
    cfg = agent_defaults.default_global_config().model_copy(update={"screening_questions": [question]})
    spoken = agent_prompts.render_spoken(cfg, candidate_name="Ana", job_title="Baker",
                                         company_name="Crumb Co")
    assert spoken["screening_questions"] == ["Why the Baker role at Crumb Co?"]
