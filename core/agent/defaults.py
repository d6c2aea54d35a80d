"""The configuration the product ships with."""

from __future__ import annotations

from importlib import resources

from core.agent.models import (
    CallOpening,
    EndBehavior,
    GlobalVoiceConfig,
    InactivityMessage,
    OpeningMode,
    ScreeningQuestion,
)

# ---------------------------------------------------------------------------------------
# The shipped default
# ---------------------------------------------------------------------------------------

# The prompt is content, not code: it lives in a text file beside this module, read once at
# import from the package (the project runs from source, so the file is found on disk).
DEFAULT_SYSTEM_PROMPT: str = (
    resources.files("core.agent").joinpath("default_prompt.md").read_text(encoding="utf-8")
)

DEFAULT_DISCLOSURE = (
    "Just so you know, I'm an AI assistant, and this call is recorded so the hiring team at "
    "{{company_name}} can review your answers."
)


def default_global_config() -> GlobalVoiceConfig:
    """The configuration the product ships with: good enough to call real candidates."""
    return GlobalVoiceConfig(
        system_prompt=DEFAULT_SYSTEM_PROMPT,
        opening=CallOpening(
            mode=OpeningMode.USER_FIRST,
            # Said only if the candidate stays silent after picking up (reference §3).
            text="Hello, this is an AI assistant calling for {{company_name}} about your "
                 "application for the {{job_title}} role. Is this {{candidate_first_name}}?",
            fallback_delay_seconds=6,
        ),
        screening_questions=[
            ScreeningQuestion(
                text="Could you tell me briefly about your current or most recent role?",
                guidance="Job title, main responsibilities, and roughly how long they held it.",
            ),
            ScreeningQuestion(
                text="What interests you about the {{job_title}} role?",
                guidance="A specific reason connected to the work or the company, not only "
                         "'I need a job'.",
            ),
            ScreeningQuestion(
                text="Which of your skills or experience do you think fit this role best?",
                guidance="At least one concrete example: a task, a result, a tool they used.",
            ),
            ScreeningQuestion(
                text="If things move forward, when would you be able to start?",
                guidance="A date or a notice period.",
            ),
            ScreeningQuestion(
                text="Do you have a salary range in mind for this role?",
                guidance="A range or a figure; 'open to discussion' is an acceptable answer.",
            ),
        ],
        recording_enabled=True,
        recording_disclosure=DEFAULT_DISCLOSURE,
        voicemail_message=(
            "Hello {{candidate_first_name}}, this is an AI assistant calling for "
            "{{company_name}} about your application for the {{job_title}} role. We'll try "
            "you again another time. Thank you, and have a good day."
        ),
        max_duration_minutes=15,
        time_exceeded_message=(
            "I'm sorry, we've reached the time we have for this call. Thank you so much for "
            "your time; the hiring team at {{company_name}} will be in touch. Goodbye."
        ),
        inactivity_messages=[
            InactivityMessage(duration_seconds=8, message="Are you still there?"),
            InactivityMessage(
                duration_seconds=12,
                message="It seems this isn't a good moment. Thank you, and the team will be "
                        "in touch. Goodbye.",
                end_behavior=EndBehavior.HANG_UP_SOFT,
            ),
        ],
    )
