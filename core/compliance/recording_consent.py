"""Recording consent where the law asks for it (issue 17, step 2).

Ultravox's recording switch is fixed when the call is created, so the decision is taken at dial:

- consent is *needed* for a candidate in an all-party-consent place (the settings' list; an
  unknown place counts as one: fail closed), or for everyone when the admin chooses
  "everywhere" — unless the candidate agreed to the recording in advance
  (`Candidate.recording_consent`; `Candidate.consent` is consent to be called, not recorded);
- where it is needed, either the call is created with recording off ("record nothing"), or the
  agent asks right after the disclosure and reports the answer with the `recordingConsent`
  tool ("ask");
- a refused or never-answered question, or recording off, means the recording is never
  fetched; after the end the transcript is kept only if "transcript without recording" allows
  it (the answers recorded through tools always are), then the call is deleted at Ultravox,
  which deletes the recording there (the follow-up does it, with retries).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core import audit
from core.agent.models import ConsentMethod, ConsentScope, GlobalVoiceConfig
from core.compliance import consent_store
from core.db import Database
from core.documents.call import Call, RecordingConsent
from core.documents.candidate import Candidate
from core.labels import Kind, label
from core.people.places import Place, needs_all_party_consent, place_of
from core.providers.resilience import ProviderError, ProviderUnavailable

log = logging.getLogger(__name__)

ASK_RULE = (
    "# Consent to the recording\n"
    "Right after the recording disclosure, before any screening question, ask the candidate "
    "whether they agree to this call being recorded. Call the recordingConsent tool with "
    "granted true if they agree, false if they do not (or if the answer is unclear). If they do "
    "not agree, tell them the call will not be kept as a recording, then go on with the "
    "questions as usual."
)


@dataclass(frozen=True)
class Decision:
    """What applies to one call: whether consent is needed, and `mode` ("not_needed",
    "in_advance", "ask", "off"), with the reason in words."""

    needed: bool
    mode: str
    place: Place
    why: str
    transcript_allowed: bool

    @property
    def asks(self) -> bool:
        """The agent asks on the call (the recordingConsent tool is offered)."""
        return self.mode == "ask"

    @property
    def recording_off(self) -> bool:
        """The call is created with recording off."""
        return self.mode == "off"

    def record(self, now: datetime) -> dict[str, Any]:
        """The call's `recording_consent` sub-document as decided at dial."""
        return RecordingConsent(needed=self.needed, mode=self.mode, place=self.place.code,
                                place_source=self.place.source, why=self.why,
                                transcript_allowed=self.transcript_allowed,
                                decided_at=now).model_dump()


def decide(cfg: GlobalVoiceConfig, place: Place, *, in_advance: bool) -> Decision:
    """The decision table (pure): settings × place × consent given in advance."""
    allowed = bool(cfg.transcript_without_recording)
    if not cfg.recording_enabled:
        return Decision(False, "not_needed", place, "recording is turned off in the settings", True)
    if cfg.recording_consent_scope == ConsentScope.EVERYWHERE:
        needed, why = True, "the settings ask for consent everywhere"
    else:
        verdict = needs_all_party_consent(place, cfg.all_party_consent_places)
        if verdict is False and _state_unknown(place, cfg.all_party_consent_places):
            verdict = None  # "US" from a toll-free number: which state's law applies is unknown
        needed = verdict is not False  # None: an unknown place is not a permissive one
        if verdict is None:
            why = "the candidate's place is not known, so every party must agree"
        elif verdict:
            why = f"every party must agree in {place.label_with_source}"
        else:
            why = f"one party's consent is enough in {place.label_with_source}"
    if not needed:
        return Decision(False, "not_needed", place, why, True)
    if in_advance:
        return Decision(True, "in_advance", place, why + "; the candidate agreed in advance", True)
    mode = "off" if cfg.recording_consent_method == ConsentMethod.RECORD_NOTHING else "ask"
    return Decision(True, mode, place, why, allowed)


def _state_unknown(place: Place, listed: list[str]) -> bool:
    # A country alone, when the list names some of its states, does not say which law applies.
    return bool(place.code) and "-" not in str(place.code) and any(
        p.upper().startswith(f"{place.code}-") for p in listed)


def decide_for(cfg: GlobalVoiceConfig, candidate: Candidate | None, phone: str | None) -> Decision:
    """The decision for a candidate (their recorded place, else their number's)."""
    place = place_of(candidate.region if candidate else None, phone)
    return decide(cfg, place, in_advance=bool(candidate and candidate.recording_consent))


def add_ask_rule(snapshot: dict[str, Any], decision: Decision) -> None:
    """In "ask" mode, the consent question goes into the prompt sent and the prompt stored."""
    if not decision.asks:
        return
    snapshot["rendered_prompt"] = f"{snapshot['rendered_prompt']}\n\n{ASK_RULE}"
    snapshot["ultravox"]["systemPrompt"] = f"{snapshot['ultravox']['systemPrompt']}\n\n{ASK_RULE}"


# -- the agent's report --------------------------------------------------------------------


def report(db: Database, call: Call, granted: bool, now: datetime) -> tuple[str, str]:
    """Store the candidate's answer; (outcome for the tool log, the text the agent reads)."""
    changed = consent_store.record_answer(db, call.id, granted, now)
    if not granted or not changed:
        if changed:
            audit.record(db, actor="system", action="recording.consent_refused", entity="call",
                         entity_id=call.id, detail=f"job {call.job_id}")
        return "recording refused", ("Noted: this call will not be kept as a recording. Tell the "
                                     "candidate so, then go on with the questions.")
    return "recording granted", "Noted: thank them and go on with the questions."


# -- what is kept, and the deletion at Ultravox ------------------------------------------------


def not_kept_message(consent: RecordingConsent, *, joined: bool = True) -> str:
    """Where the player would be: why there is no recording, in words (`joined`: the call reached
    the agent; a call nobody answered was never asked anything)."""
    if consent.outcome == "unanswered" and not joined:
        return "No recording: nobody answered the call."
    words = label(Kind.RECORDING_CONSENT, consent.outcome)
    return f"{words} ({consent.why})." if consent.outcome == "off" and consent.why else f"{words}."


def no_recording(call: Call) -> bool:
    """True when consent was needed and the recording is not kept (off, refused, unanswered)."""
    consent = call.recording_consent
    return consent is not None and consent.needed and not consent.keeps_recording


def keeps_transcript(call: Call) -> bool:
    """False when the transcript must not be stored: no recording and the settings keep none."""
    consent = call.recording_consent
    return not no_recording(call) or bool(consent and consent.transcript_allowed)


def deletion_due(call: Call) -> bool:
    """The Ultravox call still has to be deleted: no recording kept, not deleted yet."""
    return no_recording(call) and bool(call.ultravox_call_id) and not call.recording_consent.deleted_at  # type: ignore[union-attr]


def ready_to_delete(call: Call) -> bool:
    """Deleted only once the call ended and its transcript and billing are settled (both are read
    from Ultravox's call, which the deletion removes)."""
    return (deletion_due(call) and call.ultravox_ended
            and call.transcript_status in ("stored", "not_kept", "unavailable", "purged")
            and bool(call.billing_status or call.billing_status_note == "unavailable"))


def withhold_transcript(db: Database, call: Call, messages: list[dict[str, Any]], now: datetime,
                        facts: dict[str, Any] | None = None) -> None:
    """Note the transcript as not kept (its words are never written to the database), with the
    `facts` drawn from it (the disclosure check) in the same update."""
    consent_store.mark_transcript_not_kept(db, call.id, len(messages), now, facts)


# A refused recording whose deletion has failed this many times is shown on Home (about two
# minutes of the follow-up's retries: a passing outage clears itself before anyone is alarmed).
ALERT_AFTER_TRIES = 3


def delete_at_ultravox(db: Database, call: Call, ultravox: Any, now: datetime) -> str | None:
    """Delete the call at Ultravox (its recording with it); idempotent: "already gone" counts as
    done. Returns a note when it failed (the follow-up tries again)."""
    try:
        gone_now = ultravox.delete_call(call.ultravox_call_id)
    except (ProviderUnavailable, ProviderError) as exc:
        words = (f"Ultravox refused the deletion (HTTP {exc.status})" if isinstance(exc, ProviderError)
                 else "Ultravox could not be reached")
        consent_store.note_delete_failure(db, call.id, words, now)
        tries = call.recording_consent.delete_attempts + 1  # type: ignore[union-attr]
        if tries >= ALERT_AFTER_TRIES:  # Home shows it from now on; the operator's log says it too
            log.warning("call %s: the refused recording is still at Ultravox after %d tries (%s)",
                        call.id, tries, words)
        return f"ultravox delete: {exc}"
    note = "deleted at Ultravox" if gone_now else "already gone at Ultravox"
    consent_store.mark_deleted(db, call.id, now, note, clear_summary=not keeps_transcript(call))
    log.info("call %s: Ultravox call deleted (recording not kept)", call.id)
    return None
