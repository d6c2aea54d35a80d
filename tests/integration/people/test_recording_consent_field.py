"""Consent to the recording given in advance: an optional import column and an audited edit."""

import pytest

from core import auth
from core.db import AUDIT_LOG, CANDIDATES
from core.people import candidates, csv_import
from core.people.jobs import create_job


@pytest.fixture
def recruiter(db):
    return auth.create_user(db, "rec1", "password-123", "recruiter", actor=auth.OPERATOR)


def test_the_import_column_is_optional_and_read_like_consent(db, recruiter) -> None:
    job = create_job(db, recruiter, title="Driver", company="Acme")
    with_column = ("name,phone,consent,Consent to record\n"
                   "Ann,+14155550101,yes,yes\nBo,+14155550102,yes,no\nCy,+14155550103,yes,maybe\n")
    report = csv_import.preview_import(db, job.id, with_column.encode())
    rows = {r.name: r for r in report.rows}
    assert rows["Ann"].recording_consent is True and rows["Bo"].recording_consent is False
    assert rows["Cy"].status == "rejected" and "Consent must be yes or no" in rows["Cy"].reason
    csv_import.commit_import(db, recruiter, job.id, with_column.encode())
    stored = {d["phone_last4"]: d.get("recording_consent") for d in db[CANDIDATES].find({})}
    assert stored == {"0101": True, "0102": False}
    # Without the column nobody has agreed in advance.
    other = create_job(db, recruiter, title="Cook", company="Acme")
    csv_import.commit_import(db, recruiter, other.id, b"name,phone\nDee,+14155550104\n")
    assert db[CANDIDATES].find_one({"phone_last4": "0104"})["recording_consent"] is False


def test_an_edit_is_audited(db, recruiter) -> None:
    job = create_job(db, recruiter, title="Driver", company="Acme")
    cand = candidates.add_candidate(db, recruiter, name="Eve", phone="+14155550105", consent=True,
                                    job_ids=[job.id])
    profile = candidates.update_candidate(db, recruiter, cand.id, recording_consent="yes")
    assert profile.recording_consent is True
    entry = db[AUDIT_LOG].find_one({"action": "candidate.update", "entity_id": cand.id})
    assert entry["changes"]["recording_consent"] == {"old": False, "new": True}
