"""Review input, list filters, role redaction, settings tables and CSV cells (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from core.documents.call import Review
from core.review.decisions import flat_review, review_from_input
from core.review.detail import configured_questions, public_review, settings_facts, window_facts
from core.review.exports import csv_cell
from core.review.filters import (
    SORT_LABELS,
    UNDECIDED,
    CallFilters,
    ReviewError,
    call_cost,
    check_filters,
    day_range,
    filters_from_form,
    phone_search,
)
from core.review.models import Fact
from core.review.store import SORT_SPECS
from tests.factories import call as build_call

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
IDS = ["qa", "qb", "qc"]


def _review(**kwargs) -> Review:
    base = dict(
        decision="advance", ratings={1: 4}, overall=5, notes="  fine  ", question_ids=IDS, by="rec", at=AT
    )
    return review_from_input(**{**base, **kwargs})


def test_a_valid_review_input():
    # Positions are accepted and stored under the question's id; ids are taken as they are.
    review = _review(ratings={1: 4, "2": "5", 3: None, "1 ": ""})
    assert review == Review(
        decision="advance", ratings={"qa": 4, "qb": 5}, overall=5, notes="fine", by="rec", at=AT
    )
    assert _review(ratings={"qc": 2}).ratings == {"qc": 2}
    assert _review(overall="3", notes=None).overall == 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(decision="maybe"), "Choose a decision"),
        (dict(ratings={"x": 3}), "Unknown question"),
        (dict(ratings={4: 3}), "there is no question 4"),
        (dict(ratings={0: 3}), "there is no question 0"),
        (dict(ratings={1: 0}), "from 1 to 5"),
        (dict(ratings={1: "four"}), "whole number"),
        (dict(overall=None), "Give an overall rating"),
        (dict(overall=""), "Give an overall rating"),
        (dict(overall=6), "from 1 to 5"),
        (dict(overall=2.5), "whole number"),
        (dict(notes="x" * 5001), "longer than 5,000"),
    ],
)
def test_bad_review_input_says_what_is_wrong(change, message):
    with pytest.raises(ReviewError, match=message):
        _review(**change)


def test_flat_review_for_the_audit_diff():
    assert flat_review(None) == {"decision": None, "overall": None, "notes": ""}
    flat = flat_review(Review(decision="hold", ratings={"1": 3, "2": 4}, overall=3, notes="n"))
    assert flat == {"decision": "hold", "overall": 3, "notes": "n", "rating_q1": 3, "rating_q2": 4}
    by_id = flat_review(Review(decision="hold", ratings={"qa1b2c3d4": 5}, overall=3))
    assert by_id["rating_qa1b2c3d4"] == 5


def test_notes_only_for_reviewers():
    saved = Review(decision="hold", ratings={"1": 3}, overall=3, notes="call back", by="rec", at=AT)
    assert public_review(saved, True).notes == "call back"
    viewer = public_review(saved, False)
    assert viewer.notes is None and viewer.rating(1) == 3 and viewer.rating(2) is None
    # A rating keyed by id wins; an old position-keyed one is still read.
    keyed = public_review(saved.model_copy(update={"ratings": {"qx": 5, "2": 1}}), True)
    assert keyed.rating(1, "qx") == 5 and keyed.rating(2, "qy") == 1 and keyed.rating(3, "qz") is None
    assert public_review(None, True) is None


def test_filters_are_checked():
    check_filters(CallFilters(statuses=("completed", "busy"), decision=UNDECIDED))
    check_filters(CallFilters(decision="advance"))
    with pytest.raises(ReviewError, match="Unknown status: nope"):
        check_filters(CallFilters(statuses=("nope",), decision="bad"))  # the status is reported first
    with pytest.raises(ReviewError, match="Unknown decision"):
        check_filters(CallFilters(decision="bad"))


def test_every_sort_has_its_database_order():
    assert set(SORT_LABELS) == set(SORT_SPECS)


def test_phone_or_name_search():
    assert phone_search("(201) 555-0103") == "+12015550103"
    assert phone_search("ann") is None and phone_search("Ann 555") is None
    with pytest.raises(ReviewError, match="not a valid phone number"):
        phone_search("555 555 5555 555")


def test_filters_from_the_form_in_the_viewers_zone():
    one_day = filters_from_form(
        job_id="j1",
        statuses=["busy"],
        dates=(date(2026, 3, 3),),
        decision=None,
        candidate="bo",
        zone="Asia/Tokyo",
    )
    assert one_day == CallFilters(
        job_id="j1",
        statuses=("busy",),
        date_from=datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
        date_to=datetime(2026, 3, 3, 15, 0, tzinfo=UTC),
        candidate="bo",
    )
    span = filters_from_form(
        job_id=None,
        statuses=[],
        dates=[date(2026, 3, 3), date(2026, 3, 4)],
        decision="hold",
        candidate="",
        zone="UTC",
    )
    assert (span.date_from, span.date_to) == day_range(date(2026, 3, 3), date(2026, 3, 4), "UTC")
    assert span.date_to == datetime(2026, 3, 5, tzinfo=UTC)
    none = filters_from_form(
        job_id=None, statuses=[], dates=(), decision=None, candidate="", zone="Nowhere/Zone"
    )
    assert none == CallFilters()


def test_call_cost():
    def call(costs):
        return build_call(id="c", costs=costs)

    assert call_cost(call({"total": "0.42", "ai_estimated": False})) == (Decimal("0.42"), False)
    assert call_cost(call({"total": "0.10", "telephony_estimated": True})) == (Decimal("0.10"), True)
    assert call_cost(call({"total": "n/a"})) == (None, False)
    assert call_cost(call(None)) == (None, False) == call_cost(call({"currency": "USD"}))


def test_settings_questions_and_calling_window_tables():
    call = build_call(
        id="c",
        config_snapshot={
            "config": {
                "voice": "Mark",
                "recording_enabled": True,
                "screening_questions": [{"text": "Why us?"}, "Start date?", {"guidance": "g"}],
            },
            "global_version": 3,
            "overridden_fields": ["voice", "temperature"],
        },
        calling_window={
            "zone": "America/New_York",
            "zones": ["America/New_York"],
            "local_time": "10:00",
            "local_times": {"America/New_York": "10:00"},
            "allowed": True,
        },
    )
    facts = settings_facts(call)
    # In words: no None/True/False, field names as people read them.
    assert facts[0] == Fact("Voice", "Mark") and facts[1] == Fact("Model", "—")
    assert facts[5] == Fact("Recording", "Yes") and facts[6] == Fact("Global settings version", "3")
    assert facts[-1] == Fact("Changed by the job", "Voice, Temperature")
    assert configured_questions(call) == ["Why us?", "Start date?", ""]
    assert window_facts(call) == [
        Fact("Time zone used", "America/New_York (source not recorded)"),
        Fact("Candidate's local time", "10:00"),
        Fact("Inside calling hours", "Yes"),
    ]
    bare = build_call(id="d", calling_window={})
    assert window_facts(bare) == [] and settings_facts(bare)[-1].value == "nothing"


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 more", "'+1 more"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain text", "plain text"),
        ("a=b", "a=b"),
        (42, 42),
        (None, None),
    ],
)
def test_csv_cells_never_start_a_formula(value, cell):
    assert csv_cell(value) == cell
