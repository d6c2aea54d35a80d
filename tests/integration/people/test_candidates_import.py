"""Candidates: CSV import report (every kind of bad row), bad files, encryption, concurrency."""

import pytest
from cryptography.fernet import Fernet

from core import auth
from core.config import get_settings
from core.db import CANDIDATES
from core.people import candidates, csv_import, jobs
from core.people.jobs import create_job, set_archived
from core.review import candidate_view
from tests.support.candidate_csv import BAD_ROWS


@pytest.fixture
def recruiter(db):
    return auth.create_user(db, "rec1", "password-123", "recruiter", actor=auth.OPERATOR)


@pytest.fixture
def job(db, recruiter):
    return create_job(db, recruiter, title="Driver", company="Acme")


def by_line(report):
    return {r.line: r for r in report.rows}


def test_preview_reports_every_kind_of_bad_row_and_saves_nothing(db, job):
    report = csv_import.preview_import(db, job.id, BAD_ROWS.encode())
    rows = by_line(report)
    assert report.total == 13
    assert rows[2].status == "accepted" and rows[2].phone == "+12125550100"
    assert rows[2].zone == "America/New_York (from the number)"
    assert "too short" in rows[3].reason
    assert rows[4].reason == "Enter a phone number."
    assert "name is empty" in rows[5].reason
    assert "may only contain digits" in rows[6].reason
    assert "email address is not valid" in rows[7].reason
    assert "not a known time zone" in rows[8].reason
    assert "Consent must be yes or no" in rows[9].reason
    assert rows[10].status == "duplicate" and "line 2" in rows[10].reason
    assert "8 fields but the header has 7" in rows[11].reason
    assert rows[12].status == "accepted" and rows[12].zone == "Europe/London"
    assert rows[12].consent is False
    assert "several zones" in rows[13].zone and rows[13].consent is True
    assert "Premium-rate" in rows[14].reason
    assert report.ignored_columns == ["source"]
    assert (report.accepted, report.rejected, report.duplicate) == (3, 9, 1)
    assert db[CANDIDATES].count_documents({}) == 0


def test_commit_saves_accepted_rows_and_a_rerun_only_finds_duplicates(db, job, recruiter):
    result = csv_import.commit_import(db, recruiter, job.id, BAD_ROWS.encode())
    assert (result.created, result.attached) == (3, 0)
    assert db[CANDIDATES].count_documents({"job_ids": job.id}) == 3
    again = csv_import.commit_import(db, recruiter, job.id, BAD_ROWS.encode())
    assert again.created == 0 and again.duplicate == 4
    assert "already a candidate of this job" in by_line(again.report)[2].reason
    # The same person applying to a second job is attached, not duplicated.
    other = create_job(db, recruiter, title="Picker", company="Acme")
    third = csv_import.commit_import(db, recruiter, other.id,
                                     b"name,phone\nAnn Again,+12125550100\n")
    assert third.attached == 1 and third.created == 0
    ann = candidates.find_by_phone(db, "212 555 0100")
    assert sorted(ann.job_ids) == sorted([job.id, other.id])
    assert ann.name == "Ann Able"  # the existing record is not overwritten


def test_a_bad_file_is_refused_by_the_preview_with_the_readers_message(db, job):
    # Every kind of bad file is covered against the reader in tests/unit/people/test_csv_import.py;
    # here: the preview surfaces it and records nothing.
    with pytest.raises(csv_import.ImportFileError, match="Excel"):
        csv_import.preview_import(db, job.id, b"PK\x03\x04\x14\x00\x06\x00")
    assert db[CANDIDATES].count_documents({}) == 0


def test_semicolons_bom_and_header_spellings_are_read(db, job):
    data = "\ufeffFull Name;Phone Number;Time Zone\nAnn;+44 20 7946 0958;Europe/London\n"
    report = csv_import.preview_import(db, job.id, data.encode("utf-8"))
    assert report.accepted == 1 and report.rows[0].phone == "+442079460958"


def test_archived_or_unknown_job_is_refused(db, job, recruiter):
    with pytest.raises(csv_import.ImportFileError, match="does not exist"):
        csv_import.preview_import(db, "nope", b"name,phone\nA,+12125550100\n")
    set_archived(db, recruiter, job.id, True)
    with pytest.raises(csv_import.ImportFileError, match="archived"):
        csv_import.preview_import(db, job.id, b"name,phone\nA,+12125550100\n")


def test_pii_is_encrypted_at_rest_when_a_key_is_set(db, job, recruiter, monkeypatch):
    monkeypatch.setenv("DATA_ENCRYPTION_KEY", Fernet.generate_key().decode())
    get_settings.cache_clear()
    cand = candidates.add_candidate(db, recruiter, name="Zed", phone="+1 415 555 0100",
                                    email="zed@example.com", consent=True, job_ids=[job.id])
    raw = db[CANDIDATES].find_one({"_id": cand.id})
    assert "+14155550100" not in str(raw) and "zed@example.com" not in str(raw)
    assert raw["phone"].startswith("enc:v2:")  # the key id follows (rotation, issue 13)
    assert cand.phone == "+14155550100" and cand.email == "zed@example.com"
    with pytest.raises(candidates.CandidateError, match="already belongs to candidate Zed"):
        candidates.add_candidate(db, recruiter, name="Zed Two", phone="415-555-0100",
                                 job_ids=[job.id])
    updated = candidates.update_candidate(db, recruiter, cand.id, timezone="America/Denver",
                                          phone="+1 415 555 0101")
    assert updated.timezone == "America/Denver" and updated.phone == "+14155550101"
    detail = candidate_view.candidate_detail(db, cand.id, recruiter)
    assert detail.zone == "America/Denver" and detail.calls == []


def test_viewer_may_not_import(db, job):
    viewer = auth.create_user(db, "view1", "password-123", "viewer", actor=auth.OPERATOR)
    with pytest.raises(auth.PermissionDenied):
        csv_import.commit_import(db, viewer, job.id, b"name,phone\nA,+12125550100\n")


def test_concurrent_imports_of_the_same_file_create_each_number_once(db):
    import threading

    from core import auth

    admin = auth.create_user(db, "imp", "a-long-password-1", "admin", actor=auth.OPERATOR)
    job = jobs.create_job(db, admin, title="Barista", company="Bean Co")
    rows = "\n".join(f"Person {i},+1212555{1000 + i:04d},p{i}@example.com,,yes," for i in range(40))
    data = f"name,phone,email,timezone,consent,notes\n{rows}\n".encode()
    errors: list[Exception] = []

    def run() -> None:
        try:
            csv_import.commit_import(db, admin, job.id, data)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert db["candidates"].count_documents({}) == 40
    assert db["candidates"].count_documents({"job_ids": job.id}) == 40
