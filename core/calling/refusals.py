"""Standing reasons not to call a candidate, and the calling-hours verdict for one now."""

from __future__ import annotations

from datetime import datetime

from core import crypto
from core.agent.models import GlobalVoiceConfig
from core.calling import hours as calling_hours
from core.documents.candidate import Candidate
from core.documents.job import Job
from core.errors import UserError


class LaunchRefused(UserError):
    """A call that must not be placed; `code` is stable, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


def refusal(candidate: Candidate, job: Job | None, config: GlobalVoiceConfig) -> LaunchRefused | None:
    """The standing reason this candidate must not be called for this job, if any."""
    if candidate.do_not_call:
        return LaunchRefused("do_not_call", "The candidate is on the do-not-call list.")
    if job is not None and job.id in (candidate.human_requested or {}):
        return LaunchRefused("asked_for_human", "The candidate asked for a person on an earlier call "
                             "for this job; no further AI call is placed for it.")
    if job is not None and job.archived:
        return LaunchRefused("job_archived", "The job is archived; no new calls are placed for it.")
    if job is not None and not job.takes_calls:
        return LaunchRefused("job_closed", "The job is closed; no new calls are placed for it. "
                             "Reopen it to call again.")
    if config.require_consent and not candidate.consent:
        return LaunchRefused("no_consent", "The candidate has not consented to be called, and "
                             "the settings require consent.")
    return None


def window_check(candidate: Candidate, config: GlobalVoiceConfig,
                 now: datetime) -> calling_hours.WindowCheck:
    """Calling-hours verdict for this candidate now."""
    phone = crypto.decrypt(candidate.phone)
    return calling_hours.check(config.calling_hours, now=now,
                               candidate_timezone=candidate.timezone or None, phone=phone)
