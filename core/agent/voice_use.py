"""Which jobs a global voice change reaches: those following the global voice, and those that
keep their own (for the confirmation before "Use for global")."""

from __future__ import annotations

from dataclasses import dataclass

from core.agent.settings import get_global_config, load_job
from core.db import Database
from core.documents.job import Job


@dataclass(frozen=True)
class VoiceUse:
    """The global voice now, the jobs that follow it, and the jobs with a voice of their own."""

    global_voice: str
    following: list[str]  # job titles
    own: list[tuple[str, str]]  # (job title, its voice)


def voice_use(db: Database, jobs: list[Job]) -> VoiceUse:
    """Split the given jobs by whether they override the voice (one read per job: jobs are few)."""
    following: list[str] = []
    own: list[tuple[str, str]] = []
    for job in jobs:
        voice = load_job(db, job.id).overrides.voice
        if voice:
            own.append((job.title, voice))
        else:
            following.append(job.title)
    return VoiceUse(global_voice=get_global_config(db).voice, following=following, own=own)


def change_sentence(use: VoiceUse, new_voice: str) -> str:
    """What "Use for global" with `new_voice` changes, in plain words."""
    if new_voice.casefold() == use.global_voice.casefold():
        return f"{new_voice} is already the global voice: nothing would change."
    parts = [f"The global voice changes from {use.global_voice} to {new_voice}."]
    if use.following:
        who = ("1 job that follows" if len(use.following) == 1
               else f"{len(use.following)} jobs that follow")
        parts.append(f"Calls placed from now on for {who} the global settings use it: "
                     f"{', '.join(use.following)}.")
    else:
        parts.append("No open job follows the global voice today, so no job's calls change.")
    if use.own:
        kept = ", ".join(f"{title} ({voice})" for title, voice in use.own)
        keeps = ("1 job keeps its own voice" if len(use.own) == 1
                 else f"{len(use.own)} jobs keep their own voice")
        parts.append(f"{keeps}: {kept}.")
    return " ".join(parts)

