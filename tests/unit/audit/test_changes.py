"""The audit log's pure diff: which fields changed, in its {"old", "new"} shape."""

from __future__ import annotations

from core import audit
from core.audit.changes import diff


def test_only_changed_fields_in_sorted_order() -> None:
    old = {"b": 1, "a": "x", "same": [1, 2]}
    new = {"b": 2, "a": "y", "same": [1, 2]}
    changes = diff(old, new)
    assert changes == {"a": {"old": "x", "new": "y"}, "b": {"old": 1, "new": 2}}
    assert list(changes) == ["a", "b"]


def test_added_and_removed_fields_show_none() -> None:
    assert diff({"gone": 1}, {"added": 2}) == {
        "added": {"old": None, "new": 2},
        "gone": {"old": 1, "new": None},
    }


def test_no_change_is_empty() -> None:
    assert diff({}, {}) == {}
    assert diff({"a": {"nested": 1}}, {"a": {"nested": 1}}) == {}


def test_an_explicit_none_equals_a_missing_field() -> None:
    assert diff({"a": None}, {}) == {}


def test_the_package_keeps_exporting_it() -> None:
    assert audit.diff is diff
