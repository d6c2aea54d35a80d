"""The sentence that says what "Use for global" changes."""

from __future__ import annotations

from core.agent.voice_use import VoiceUse, change_sentence


def test_it_names_the_jobs_that_follow_and_those_that_keep_their_voice() -> None:
    use = VoiceUse(global_voice="Mark", following=["Forklift operator", "Nurse"], own=[("Chef", "Jessica")])
    assert change_sentence(use, "Hugo") == (
        "The global voice changes from Mark to Hugo. Calls placed from now on for 2 jobs that follow "
        "the global settings use it: Forklift operator, Nurse. 1 job keeps its own voice: Chef (Jessica).")


def test_no_job_following_and_the_same_voice_are_said_plainly() -> None:
    assert "no job's calls change" in change_sentence(VoiceUse("Mark", [], [("Chef", "Jessica")]), "Hugo")
    assert change_sentence(VoiceUse("Mark", ["Nurse"], []), "mark") == (
        "mark is already the global voice: nothing would change.")
