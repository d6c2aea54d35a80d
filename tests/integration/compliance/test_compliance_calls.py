"""The compliance record of real sandbox calls: stored at dial, the disclosure verdict stored with
the transcript, shown on the call page, counted on Home and written to the job's compliance CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from streamlit.testing.v1 import AppTest

from core import auth
from core.calling import launch
from core.compliance import reports
from core.compliance.view import FIELDS
from core.db import CALLS
from core.documents.call import Call
from core.people import candidates, csv_import
from tests.support import sandbox_stack
from tests.support.apptest import TIMEOUT, page_path, signed_in, texts
from tests.support.review_seed import add_call, add_candidate, add_job
from tests.support.sandbox_stack import Stack, make_job

stack = sandbox_stack.stack


def _finished(stack: Stack, candidate_id: str) -> Call:
    # Slower than the stack's 200x, as the tool tests: the join timeout must not be missed.
    stack.sandbox.state.config.speed = 40
    call = launch.launch_call(stack.db, stack.recruiter, candidate_id).call
    stack.sandbox.wait_for(lambda: (stack.db[CALLS].find_one({"_id": call.id}) or {}).get(
        "disclosure") is not None, 30)
    return Call.model_validate(stack.db[CALLS].find_one({"_id": call.id}))


def _page(user, call_id: str) -> AppTest:
    at = signed_in(AppTest.from_file(page_path("call"), default_timeout=TIMEOUT), user)
    at.query_params["call"] = call_id
    return at.run()


def _facts(at: AppTest) -> dict[str, str]:
    # The section's table: the one whose facts include the disclosure.
    tables = [{r["Fact"]: r["Value"] for r in df.value.to_dict("records")} for df in at.dataframe
              if list(df.value.columns) == ["Fact", "Value"]]
    return next(t for t in tables if "Disclosure said" in t)


def test_a_call_keeps_its_record_and_the_disclosure_said(stack) -> None:
    job = make_job(stack)
    cand = candidates.add_candidate(stack.db, stack.recruiter, name="Cal Lee", phone="+1 212 555 0103",
                                    consent=True, timezone="America/New_York", region="California",
                                    job_ids=[job.id])
    call = _finished(stack, cand.id)
    record = call.compliance
    assert record is not None and call.disclosure is not None
    assert (record.zone, record.zone_source) == ("America/New_York", "candidate")
    local = datetime.fromisoformat(record.local_time or "")
    dialled = call.dialed_at.astimezone(ZoneInfo("America/New_York"))
    assert local.utcoffset() == dialled.utcoffset() and abs((local - dialled).total_seconds()) < 120
    assert (record.consent, record.consent_source, record.consent_by) == (True, "manual", "rec1")
    assert record.consent_at is not None
    assert (record.place, record.place_source, record.all_party_consent) == ("US-CA", "candidate", True)
    assert (record.recording, record.attempt, record.max_attempts) == (True, 1, 3)
    assert record.released_by is None
    check = call.disclosure
    assert check.found is True and check.phrases == ["AI", "recorded"] and check.missing == []
    assert check.at_seconds is not None and check.at_seconds < 30
    # Later edits of the candidate or the settings never rewrite the stored record.
    candidates.update_candidate(stack.db, stack.recruiter, cand.id, region="TX", consent=False)
    stack.set_config(all_party_consent_places=["US-TX"], recording_enabled=False)
    at = _page(stack.recruiter, call.id)
    assert not at.exception
    facts = _facts(at)
    assert "Compliance" in [s.value for s in at.subheader]
    assert facts["Place"] == "California, US" and facts["All-party consent"] == "required"
    assert facts["Recording"] == "on" and facts["Consent"] == "given"
    # California asks every party to agree: the agent asked, and the sandbox candidate agreed.
    assert facts["Recording consent"] == "Recorded: the candidate agreed to the recording on the call"
    assert facts["Consent captured"].startswith("entered by hand, ") and facts["Consent captured"].endswith(
        "by rec1")
    assert facts["Disclosure said"] == "yes: “AI”, “recorded”"
    assert facts["Disclosure at"].endswith("into the call")
    assert facts["Zone from"] == "the candidate record" and facts["Attempt"] == "1 of 3"
    assert "(New York)" in facts["Candidate's local time"]
    assert not [w for w in at.warning if "did not contain" in str(w.value)]


def test_a_call_without_a_phrase_is_flagged_counted_and_exported(stack) -> None:
    stack.set_config(disclosure_phrases=["AI", "recorded", "lawyer"])
    job = make_job(stack)
    result = csv_import.commit_import(stack.db, stack.recruiter, job.id,
                                      b"name,phone,consent\nNia Park,+1 212 555 0157,yes\n")
    assert result.created == 1
    cand = candidates.find_by_phone(stack.db, "+12125550157")
    call = _finished(stack, cand.id)
    check = call.disclosure
    assert check.found is False and check.missing == ["lawyer"] and check.at_seconds is None
    assert "human" in check.moments  # number 57 asks for a person, through the agent's tool
    assert call.compliance.place == "US-NY" and call.compliance.place_source == "number"
    assert call.compliance.all_party_consent is False
    assert call.compliance.consent_source == "import"

    at = _page(stack.recruiter, call.id)
    assert not at.exception
    assert "The agent's first two turns did not contain: lawyer." in texts(at).replace("\u2060", "")
    facts = _facts(at)
    assert facts["Disclosure said"] == "no: missing “lawyer”"
    assert facts["Human requested at"].endswith("into the call")
    assert facts["Place"] == "New York, US (from the number)"

    flags = reports.disclosure_flags(stack.db, stack.recruiter, zone="UTC")
    assert flags.count == 1 and [f.call_id for f in flags.calls] == [call.id]
    assert flags.calls[0].candidate == "Nia Park" and flags.calls[0].missing == "lawyer"
    home = signed_in(AppTest.from_file(page_path("home"), default_timeout=TIMEOUT), stack.recruiter).run()
    assert not home.exception
    assert "Disclosure not found" in [s.value for s in home.subheader]
    assert any(w.value.startswith("1 call of the last 30 days") for w in home.warning)
    table = next(df for df in home.dataframe if "Missing" in df.value.columns)
    assert table.value.to_dict("records")[0]["Open"].endswith(call.id)

    rows = list(csv.DictReader(io.StringIO(
        reports.compliance_csv(stack.db, stack.recruiter, job.id, zone="UTC").decode("utf-8-sig"))))
    assert len(rows) == 1
    row = rows[0]
    assert row["Candidate"] == "Nia Park" and row["Phone"] == "+12125550157"
    assert row["Consent captured"].startswith("CSV import column, ") and row["Consent"] == "given"
    assert row["Disclosure said"] == "no: missing “lawyer”" and row["Recording"] == "on"
    assert row["Window"].startswith("Mon") and row["Time zone"] == "America/New_York"
    assert row["Zone from"] == "the phone number" and row["Retry policy"].startswith("up to 3 attempts")
    assert row["Started (UTC)"] and row["All-party consent"] == "not required"
    assert row["Recording consent"] == "Recorded: consent to the recording was not needed here"


def test_an_agent_that_skips_the_disclosure_is_flagged_and_a_refusal_is_on_the_record(stack) -> None:
    job = make_job(stack)
    skipper = candidates.add_candidate(stack.db, stack.recruiter, name="Sam Quiet", phone="+1 212 555 0160",
                                       consent=True, job_ids=[job.id])
    refuser = candidates.add_candidate(stack.db, stack.recruiter, name="Rae Private",
                                       phone="+1 415 555 0159", consent=True, job_ids=[job.id])
    skipped = _finished(stack, skipper.id)
    assert skipped.disclosure.found is False and "recorded" in skipped.disclosure.missing
    refused = _finished(stack, refuser.id)
    assert refused.compliance.place == "US-CA" and refused.compliance.all_party_consent is True
    rows = {r["Candidate"]: r for r in csv.DictReader(io.StringIO(
        reports.compliance_csv(stack.db, stack.recruiter, job.id, zone="UTC").decode("utf-8-sig")))}
    assert rows["Sam Quiet"]["Disclosure said"].startswith("no: missing ")
    assert rows["Rae Private"]["Recording consent"] == "Recording refused by the candidate — not kept"
    at = _page(stack.recruiter, skipped.id)
    assert "The agent's first two turns did not contain: " in texts(at).replace("\u2060", "")


def test_a_call_from_before_the_record_says_not_recorded(db) -> None:
    job = add_job(db, "Forklift driver")
    cand = add_candidate(db, "Old Timer", "+12015550101", [job])
    call_id = add_call(db, cand, job)
    admin = auth.get_user(db, "seeder")
    at = _page(admin, call_id)
    assert not at.exception
    assert "placed before compliance records were kept" in texts(at)
    facts = _facts(at)
    assert facts.pop("Dialled") == "2 Mar 2026, 15:00 UTC"
    assert set(facts.values()) == {"not recorded"} and len(facts) == len(FIELDS)
    sheet = reports.compliance_csv(db, admin, job, zone="UTC").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(sheet)))
    assert [r["Disclosure said"] for r in rows] == ["not recorded"]
    assert rows[0]["Candidate"] == "Old Timer"
