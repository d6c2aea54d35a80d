"""Reading a candidate CSV file before any row is checked: encodings, header, size (pure)."""

from __future__ import annotations

import pytest

from core.people.csv_import import ImportFileError, _decode, _read_rows


def _read(data: bytes):
    return _read_rows(_decode(data))


@pytest.mark.parametrize("data,message", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"name,phone\n", "no candidate rows"),
    (b"full name;mobile\n", "no candidate rows"),
    (b"first,last,cell\nA,B,+12125550100\n", "Missing columns: name, phone"),
    (b"name,cell\nA,+12125550100\n", "Missing column: phone. Found: name, cell."),
    (b"name,phone,Phone\nA,1,2\n", "appears twice"),
    ("name,phone\nJos\u00e9,+12125550100\n".encode("latin-1"), "not UTF-8"),
    ("name,phone\nA,+12125550100\n".encode("utf-16"), "UTF-16"),
    (b"PK\x03\x04\x14\x00\x06\x00", "Excel"),
    (b"name,phone\n\x00\x01\x02", "not a text file"),
    (b'name,phone\n"unterminated,+1212\n', "not valid CSV"),
])
def test_bad_files_get_a_clear_message(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError) as info:
        _read(data)
    assert message in str(info.value)


def test_a_50k_row_file_is_refused_with_its_size() -> None:
    data = "name,phone\n" + "".join(f"P{i},+1212555{i % 10000:04d}\n" for i in range(50_000))
    with pytest.raises(ImportFileError, match="50,000 rows"):
        _read(data.encode())


def test_semicolons_bom_and_header_spellings_are_read() -> None:
    data = "\ufeffFull Name;Phone Number;Time Zone;Source\nAnn;+44 20 7946 0958;Europe/London;web\n"
    columns, ignored, width, rows = _read(data.encode("utf-8"))
    assert columns == {"name": 0, "phone": 1, "timezone": 2} and ignored == ["Source"] and width == 4
    assert rows == [(2, ["Ann", "+44 20 7946 0958", "Europe/London", "web"])]


def test_each_row_says_what_happens_to_it_and_the_summary_names_who_cannot_be_called() -> None:
    from core.people.csv_import import import_summary, row_result
    from core.people.models import ImportReport, ImportResult, ImportRow

    rows = [ImportRow(line=2, name="Ann", status="accepted", action="new", consent=True),
            ImportRow(line=3, name="Bob", status="accepted", action="attach", consent=True),
            ImportRow(line=4, name="Cy", status="accepted", action="new", consent=False),
            ImportRow(line=5, name="Di", status="duplicate", reason="same phone as line 2"),
            ImportRow(line=6, name="Ed", status="rejected", reason="not a phone number: 12ab")]
    kinds = [row_result(r, require_consent=True)[0] for r in rows]
    assert kinds == ["new", "attach", "no_consent", "duplicate", "rejected"]
    assert "never be called" in row_result(rows[2], require_consent=True)[1]
    assert row_result(rows[2], require_consent=False) == ("new", "New candidate")
    report = ImportReport(job_id="j", job_title="Nurse", total=5, accepted=3, rejected=1, duplicate=1,
                          rows=rows)
    done = ImportResult(job_id="j", created=2, attached=1, rejected=1, duplicate=1, total=5, report=report)
    assert import_summary(done, "Nurse — Acme", require_consent=True) == (
        "Added to Nurse — Acme: 2 new candidates and 1 already on file. 2 rows skipped (rejected or "
        "duplicate). 1 will never be called while consent is required: Cy.")
    assert "never be called" not in import_summary(done, "Nurse", require_consent=False)
