"""A candidate's state or country (import column, manual edit) and how their consent was
captured (import, command line, by hand; withdrawn), against the real database."""

import pytest

from core import auth, manage
from core.db import CANDIDATES
from core.people import candidates, csv_import
from core.people.jobs import create_job


@pytest.fixture
def recruiter(db):
    return auth.create_user(db, "rec1", "password-123", "recruiter", actor=auth.OPERATOR)


@pytest.fixture
def job(db, recruiter):
    return create_job(db, recruiter, title="Driver", company="Acme")


CSV = (b"name,phone,State,consent\n"
       b"Ann,+12125550100,California,yes\n"
       b"Bob,+12125550101,Atlantis,yes\n"
       b"Cid,+12125550102,,no\n")


def test_the_import_reads_the_state_column_and_refuses_an_unknown_place(db, job, recruiter) -> None:
    report = csv_import.preview_import(db, job.id, CSV)
    rows = {r.line: r for r in report.rows}
    assert (rows[2].status, rows[2].region) == ("accepted", "US-CA")
    assert rows[3].status == "rejected"
    assert rows[3].reason == ("“Atlantis” is not a US state or a two-letter country code "
                              "(for example CA, California, US-CA or GB).")
    assert (rows[4].status, rows[4].region) == ("accepted", None)
    csv_import.commit_import(db, recruiter, job.id, CSV)
    ann = db[CANDIDATES].find_one({"phone_last4": "0100"})
    assert ann["region"] == "US-CA"
    assert (ann["consent_source"], ann["consent_by"]) == ("import", "rec1") and ann["consent_at"]
    cid = db[CANDIDATES].find_one({"phone_last4": "0102"})
    assert cid["region"] is None and cid.get("consent_source") is None  # no consent: no basis
    assert db[CANDIDATES].find_one({"phone_last4": "0101"}) is None


def test_the_command_line_import_records_consent_as_captured_there(db, job, tmp_path, capsys) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b"name,phone,country,consent\nDee,+442079460958,GB,yes\n")
    assert manage.main(["import-candidates", str(path), "--job", job.id]) == 0
    dee = db[CANDIDATES].find_one({"phone_last4": "0958"})
    assert (dee["region"], dee["consent_source"], dee["consent_by"]) == ("GB", "cli", auth.OPERATOR.username)


def test_a_manual_edit_sets_the_place_and_records_consent_given_and_withdrawn(db, recruiter, job) -> None:
    cand = candidates.add_candidate(db, recruiter, name="Eve", phone="+12125550109", job_ids=[job.id])
    assert cand.region is None and cand.consent_source is None
    assert "not recorded" in candidates.consent_words(cand)
    with pytest.raises(candidates.CandidateError, match="not a US state"):
        candidates.update_candidate(db, recruiter, cand.id, region="Narnia")
    given = candidates.update_candidate(db, recruiter, cand.id, region="wa", consent=True)
    assert (given.region, given.consent) == ("US-WA", True)
    assert (given.consent_source, given.consent_by) == ("manual", "rec1")
    assert candidates.consent_words(given).startswith("Consent captured: entered by hand, ")
    withdrawn = candidates.update_candidate(db, recruiter, cand.id, consent=False)
    assert (withdrawn.consent, withdrawn.consent_source) == (False, "withdrawn (manual)")
    assert candidates.consent_words(withdrawn).startswith("Consent withdrawn: entered by hand, ")
    cleared = candidates.update_candidate(db, recruiter, cand.id, region="")
    assert cleared.region is None and cleared.consent_source == "withdrawn (manual)"
