"""The CSV import's state or country column (pure): its header spellings and its values."""

from __future__ import annotations

import pytest

from core.people.candidates import CandidateError, _clean_region
from core.people.csv_import import _decode, _read_rows


@pytest.mark.parametrize("header", ["state", "Region", "COUNTRY", "province"])
def test_each_spelling_of_the_column_is_read_as_the_place(header: str) -> None:
    data = f"name,phone,{header}\nAnn,+12125550100,CA\n".encode()
    columns, ignored, _width, _rows = _read_rows(_decode(data))
    assert columns["region"] == 2 and ignored == []


def test_two_place_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="appears twice"):
        _read_rows(_decode(b"name,phone,state,country\nAnn,+12125550100,CA,US\n"))


@pytest.mark.parametrize("raw,code", [("CA", "US-CA"), ("california", "US-CA"), ("us-wa", "US-WA"),
                                      ("gb", "GB"), ("", None), ("  ", None)])
def test_values_are_read_as_place_codes(raw: str, code: str | None) -> None:
    assert _clean_region(raw) == code


def test_an_unknown_place_is_a_message_naming_what_is_accepted() -> None:
    with pytest.raises(CandidateError, match="“Atlantis” is not a US state or a two-letter country code"):
        _clean_region("Atlantis")
