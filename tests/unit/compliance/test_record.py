"""The compliance record's pure rules: the disclosure check, the moments, the record at dial and
its words (core.compliance)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.compliance.record import after_call, check_disclosure, moments, record_at_dial
from core.compliance.view import FIELDS, NOT_RECORDED, ComplianceSource, compliance_view
from core.documents.call import Call, ComplianceRecord, DisclosureCheck
from core.documents.candidate import Candidate

DIAL = datetime(2026, 12, 2, 20, 30, tzinfo=UTC)  # 15:30 in New York, a Wednesday
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
HOURS = {"windows": {d: [{"start": "09:00:00", "end": "18:00:00"}] for d in WEEKDAYS}}
CONFIG = {"calling_hours": HOURS, "recording_enabled": True,
          "retry_policy": {"max_attempts": 3, "spacing_minutes": 240, "retry_after_voicemail": True},
          "all_party_consent_places": ["US-CA", "US-WA"], "disclosure_phrases": ["AI", "recorded"]}


def agent(text: str, start: float | None) -> dict:
    return {"role": "agent", "text": text, "start_s": start}


def user(text: str, start: float | None) -> dict:
    return {"role": "user", "text": text, "start_s": start}


def test_every_phrase_in_the_first_turn_is_found_at_its_start() -> None:
    got = check_disclosure([agent("Hi! I'm an ai assistant and this call is RECORDED.", 0.4)],
                           ["AI", "recorded"])
    assert got == {"phrases": ["AI", "recorded"], "found": True, "missing": [], "at_seconds": 0.4}


def test_the_disclosure_may_span_the_first_two_turns_and_dates_from_the_second() -> None:
    messages = [agent("Hi, I'm an AI assistant.", 0.0), user("Hello?", 3.0),
                agent("This call is recorded for the hiring team.", 5.5)]
    assert check_disclosure(messages, ["AI", "recorded"])["at_seconds"] == 5.5


def test_a_phrase_said_only_in_the_third_turn_does_not_count() -> None:
    messages = [agent("Hi, I'm an AI assistant.", 0.0), agent("Any questions?", 4.0),
                agent("By the way, this call is recorded.", 9.0)]
    got = check_disclosure(messages, ["AI", "recorded"])
    assert got["found"] is False and got["missing"] == ["recorded"] and got["at_seconds"] is None


def test_phrases_are_whole_words_in_any_case_and_spacing() -> None:
    said = [agent("She said it again: the call is being   Recorded  Today.", 0.0)]
    got = check_disclosure(said, ["AI", "recorded today"])
    assert got["missing"] == ["AI"]  # "said" and "again" hold the letters, not the word
    assert check_disclosure(said, ["recorded today"])["found"] is True


def test_no_phrases_set_is_no_verdict_and_the_candidate_words_never_count() -> None:
    assert check_disclosure([agent("Hello", 0.0)], [])["found"] is None
    # A call on which the agent never spoke (nobody joined) is no missed disclosure.
    assert check_disclosure([user("Hello?", 0.0)], ["AI"])["found"] is None
    assert check_disclosure([], ["AI"]) == {"phrases": ["AI"], "found": None, "missing": [],
                                            "at_seconds": None}
    got = check_disclosure([user("Is this AI? Is it recorded?", 0.0), agent("Hello", 1.0)], ["AI"])
    assert got["found"] is False


def test_moments_are_the_first_tool_call_seconds_and_a_spoken_opt_out() -> None:
    messages = [agent("Hi", 0.0), user("Please don't call me again.", 12.5),
                {"role": "tool_call", "tool": "requestHuman", "text": "{}", "start_s": 20.0},
                {"role": "tool_call", "tool": "requestCallback", "text": "{}", "start_s": 31.0},
                {"role": "tool_call", "tool": "requestCallback", "text": "{}", "start_s": 40.0},
                {"role": "tool_call", "tool": "leaveVoicemail", "text": "{}", "start_s": None}]
    assert moments(messages) == {"opt_out": 12.5, "human": 20.0, "callback": 31.0}


def test_after_call_uses_the_call_snapshot_of_the_phrases() -> None:
    call = Call(id="c1", config_snapshot={"config": {"disclosure_phrases": ["consent"]}})
    got = after_call(call, [agent("I'm an AI assistant; this call is recorded.", 0.0)], DIAL)
    assert got["found"] is False and got["missing"] == ["consent"] and got["checked_at"] == DIAL


def _record(**candidate) -> dict:
    cand = Candidate(id="k1", timezone="America/New_York", consent=True, consent_source="import",
                     consent_at=DIAL, consent_by="rec1", **candidate)
    call = Call(id="c1", attempt=2, max_attempts=3, released_by="rec1")
    return record_at_dial(call, cand, "+12125550103", CONFIG, DIAL)


def test_the_record_at_dial_keeps_zone_local_time_consent_place_and_policy() -> None:
    got = _record(region="US-CA")
    assert got["zone"] == "America/New_York" and got["zone_source"] == "candidate"
    assert got["local_time"] == "2026-12-02T15:30-05:00"
    assert got["window"] == "Mon–Fri 09:00–18:00; no calls on Sat and Sun."
    assert (got["consent"], got["consent_source"], got["consent_by"]) == (True, "import", "rec1")
    assert (got["place"], got["place_source"], got["all_party_consent"]) == ("US-CA", "candidate", True)
    assert (got["recording"], got["attempt"], got["max_attempts"]) == (True, 2, 3)
    assert got["spacing_minutes"] == 240
    assert got["released_by"] == "rec1"


def test_without_a_region_the_place_is_read_from_the_number() -> None:
    got = _record()
    assert (got["place"], got["place_source"], got["all_party_consent"]) == ("US-NY", "number", False)


def test_the_record_in_words_and_the_flag() -> None:
    record = ComplianceRecord.model_validate(_record())
    check = DisclosureCheck(phrases=["AI", "recorded"], found=False, missing=["recorded"],
                            moments={"human": 75.2})
    view = compliance_view(ComplianceSource(record=record, disclosure=check, started_at=DIAL,
                                            human_requested=True), "Europe/London")
    assert [label for label, _ in view.facts] == list(FIELDS)
    assert view.value("Candidate's local time") == "15:30 on Wed 2 Dec 2026 (New York)"
    assert view.value("Zone from") == "the candidate record"
    assert view.value("Place") == "New York, US (from the number)"
    assert view.value("All-party consent") == "not required"
    assert view.value("Consent captured") == "CSV import column, 2 Dec 2026, 20:30 GMT, by rec1"
    assert view.value("Released by") == "rec1 released the held call"
    assert view.value("Disclosure said") == "no: missing “recorded”"
    assert view.value("Human requested at") == "1:15 into the call"
    assert view.value("Opt-out at") == "no" and view.value("Attempt") == "2 of 3"
    assert view.value("Retry policy") == "up to 3 attempts, 240 minutes apart, retried after voicemail"
    assert view.flag == "The agent's first two turns did not contain: recorded"
    text = " ".join(v for _, v in view.facts)
    assert "True" not in text and "None" not in text and "US-NY" not in text


def test_a_call_from_before_the_record_says_not_recorded_everywhere() -> None:
    view = compliance_view(ComplianceSource.of(Call(id="old", status="completed")), "UTC")
    assert not view.recorded and view.flag is None
    assert {v for _, v in view.facts} == {NOT_RECORDED}
