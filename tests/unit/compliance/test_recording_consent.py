"""The recording-consent decision table (pure) and what a decision means for a call."""

from __future__ import annotations

import pytest

from core.agent.defaults import default_global_config
from core.agent.models import ConsentMethod, ConsentScope
from core.compliance import recording_consent as rc
from core.documents.call import Call, RecordingConsent
from core.documents.candidate import Candidate
from core.people.places import Place

CA, NY, GB = Place("US-CA", "number"), Place("US-NY", "candidate"), Place("GB", "number")
UNKNOWN, US_ONLY = Place(None, "unknown"), Place("US", "number")


def _cfg(**fields):
    return default_global_config().model_copy(update=fields)


@pytest.mark.parametrize(("place", "scope", "method", "advance", "mode", "needed"), [
    (CA, ConsentScope.ALL_PARTY_PLACES, ConsentMethod.ASK, False, "ask", True),
    (CA, ConsentScope.ALL_PARTY_PLACES, ConsentMethod.RECORD_NOTHING, False, "off", True),
    (CA, ConsentScope.ALL_PARTY_PLACES, ConsentMethod.ASK, True, "in_advance", True),
    (NY, ConsentScope.ALL_PARTY_PLACES, ConsentMethod.ASK, False, "not_needed", False),
    (NY, ConsentScope.EVERYWHERE, ConsentMethod.ASK, False, "ask", True),
    (NY, ConsentScope.EVERYWHERE, ConsentMethod.RECORD_NOTHING, False, "off", True),
    (NY, ConsentScope.EVERYWHERE, ConsentMethod.RECORD_NOTHING, True, "in_advance", True),
    (GB, ConsentScope.ALL_PARTY_PLACES, ConsentMethod.ASK, False, "not_needed", False),
    # Fail closed: no place at all, or a country whose listed states differ.
    (UNKNOWN, ConsentScope.ALL_PARTY_PLACES, ConsentMethod.ASK, False, "ask", True),
    (US_ONLY, ConsentScope.ALL_PARTY_PLACES, ConsentMethod.RECORD_NOTHING, False, "off", True),
])
def test_the_decision_table(place, scope, method, advance, mode, needed) -> None:
    cfg = _cfg(recording_consent_scope=scope, recording_consent_method=method)
    decision = rc.decide(cfg, place, in_advance=advance)
    assert (decision.mode, decision.needed) == (mode, needed)
    assert decision.asks is (mode == "ask") and decision.recording_off is (mode == "off")


def test_the_reason_names_the_place_and_the_unknown_case() -> None:
    assert "California, US (from the number)" in rc.decide(_cfg(), CA, in_advance=False).why
    assert "not known" in rc.decide(_cfg(), UNKNOWN, in_advance=False).why
    assert "one party" in rc.decide(_cfg(), NY, in_advance=False).why


def test_a_listed_country_covers_its_places_and_recording_off_needs_nothing() -> None:
    assert rc.decide(_cfg(all_party_consent_places=["GB"]), GB, in_advance=False).mode == "ask"
    off = rc.decide(_cfg(recording_enabled=False), CA, in_advance=False)
    assert off.mode == "not_needed" and not off.needed


def test_consent_in_advance_is_the_candidates_recording_consent_not_consent_to_call() -> None:
    phone = "+14155550101"  # California
    called_only = Candidate(id="c1", consent=True, recording_consent=False)
    assert rc.decide_for(_cfg(), called_only, phone).mode == "ask"
    agreed = Candidate(id="c2", consent=True, recording_consent=True)
    assert rc.decide_for(_cfg(), agreed, phone).mode == "in_advance"
    # The candidate's recorded place wins over the number's.
    moved = Candidate(id="c3", region="US-NY")
    assert rc.decide_for(_cfg(), moved, phone).mode == "not_needed"


def test_transcript_allowed_follows_the_setting_only_where_consent_is_missing() -> None:
    assert rc.decide(_cfg(), CA, in_advance=False).transcript_allowed is False
    assert rc.decide(_cfg(transcript_without_recording=True), CA, in_advance=False).transcript_allowed
    assert rc.decide(_cfg(), NY, in_advance=False).transcript_allowed is True


def _call(**consent) -> Call:
    return Call(id="k1", ultravox_call_id="uv1", recording_consent=RecordingConsent(**consent))


@pytest.mark.parametrize(("consent", "kept", "outcome"), [
    ({"needed": True, "mode": "ask", "asked": True, "granted": True}, True, "granted"),
    ({"needed": True, "mode": "ask", "asked": True, "granted": False}, False, "refused"),
    ({"needed": True, "mode": "ask"}, False, "unanswered"),
    ({"needed": True, "mode": "off"}, False, "off"),
    ({"needed": True, "mode": "in_advance"}, True, "in_advance"),
    ({"needed": False, "mode": "not_needed"}, True, "not_needed"),
])
def test_what_a_call_keeps(consent, kept, outcome) -> None:
    call = _call(**consent)
    assert call.recording_consent.keeps_recording is kept and call.recording_consent.outcome == outcome
    assert rc.no_recording(call) is (not kept)
    assert rc.deletion_due(call) is (not kept)
    if not kept:
        assert rc.keeps_transcript(_call(**consent, transcript_allowed=True))
        assert not rc.keeps_transcript(_call(**consent, transcript_allowed=False))


def test_the_page_words() -> None:
    assert rc.not_kept_message(RecordingConsent(mode="ask", granted=False)) == (
        "Recording refused by the candidate — not kept.")
    off = rc.not_kept_message(RecordingConsent(mode="off", why="every party must agree in Florida, US"))
    assert off == "Recording off: consent not asked (every party must agree in Florida, US)."


def test_a_call_nobody_answered_is_not_blamed_on_the_candidate() -> None:
    unasked = RecordingConsent(needed=True, mode="ask")
    assert rc.not_kept_message(unasked, joined=False) == "No recording: nobody answered the call."
    assert "never answered the consent question" in rc.not_kept_message(unasked, joined=True)


def test_a_call_placed_before_this_version_is_untouched() -> None:
    old = Call(id="k0", ultravox_call_id="uv0")
    assert not rc.no_recording(old) and rc.keeps_transcript(old) and not rc.deletion_due(old)


def test_ready_to_delete_waits_for_the_end_the_transcript_and_the_billing() -> None:
    base = {"needed": True, "mode": "ask", "granted": False}
    call = _call(**base)
    assert not rc.ready_to_delete(call)
    call = call.model_copy(update={"ultravox_ended": True, "transcript_status": "not_kept"})
    assert not rc.ready_to_delete(call)
    assert rc.ready_to_delete(call.model_copy(update={"billing_status": "BILLING_STATUS_BILLED"}))
