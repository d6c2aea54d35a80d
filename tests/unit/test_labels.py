"""Stored codes in words, and the check that finds engineer-speak on a page."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core.agent.models import EndBehavior, OpeningMode
from core.documents.status import CallStatus
from core.labels import Kind, known_codes, label, labels, yes_no
from tests.support.visible_text import engineer_speak


@pytest.mark.parametrize("kind", list(Kind))
def test_every_label_is_words_and_never_the_code(kind: Kind) -> None:
    for code, words in labels(kind).items():
        assert words and words != code and "_" not in words, (kind, code, words)
        assert not engineer_speak(words), (kind, code, words)


def test_every_call_status_and_enum_member_has_its_own_label() -> None:
    assert set(labels(Kind.CALL_STATUS)) == {s.value for s in CallStatus}
    assert set(labels(Kind.OPENING)) == {m.value for m in OpeningMode}
    assert set(labels(Kind.END_BEHAVIOR)) == {m.value for m in EndBehavior}
    assert label(Kind.CALL_STATUS, CallStatus.IN_PROGRESS) == "On the call"
    assert label(Kind.END_REASON, "agent_hangup") == "the agent ended the call"


def test_an_unknown_or_missing_code_is_still_words() -> None:
    assert label(Kind.END_REASON, "carrier_dropped_out") == "Carrier dropped out"
    assert label(Kind.DECISION, None) == "—"
    assert label(Kind.ANSWERED_BY, "") == "—"
    assert yes_no(True) == "Yes" and yes_no(False) == "No" and yes_no(None) == "—"


def test_the_check_finds_each_kind_of_engineer_speak() -> None:
    text = ("Call 9d20c535d1bb4c9384e3842e79bb13e1 · Ultravox 26eb8459-b343-47ba-b453-90d677c76cab · "
            "CA58c6d811a40f41ffae2f4bf113f919bb · {\"start\": \"09:00\"} · consent: True · "
            "at 2026-12-02 20:34:05.785000 · ended by agent_hangup · 2026-12-02T15:34")
    kinds = sorted({f.kind for f in engineer_speak(text)})
    assert kinds == ["ISO timestamp", "Python literal", "internal id", "provider id", "raw JSON",
                     "stored code", "timestamp with microseconds"]
    assert {f.text for f in engineer_speak(text) if f.kind == "stored code"} == {"agent_hangup"}


def test_the_check_leaves_plain_language_alone() -> None:
    plain = ("Avery Answered · Warehouse team lead · Completed: the agent ended the call · "
             "Started 2 Dec 2026, 15:34 (15:34 for the candidate, New York) · 1:29 · $0.10 · "
             "The candidate said: \"None of my shifts were nights\" · Is the line busy? · open")
    assert engineer_speak(plain) == []
    assert "in_progress" in known_codes() and "open" in known_codes()
    assert engineer_speak("user_first", allowed=frozenset({"user_first"})) == []


def test_download_names_come_from_what_they_hold() -> None:
    from datetime import date

    from core.labels import file_name

    assert file_name("Forklift Operator — Acme", "screening", day=date(2026, 12, 2), ext="csv") == (
        "forklift-operator-acme-screening-2026-12-02.csv")
    assert file_name("Zoë", "transcript", ext="txt") == "zoe-transcript.txt"
    assert file_name("!!!", ext="csv") == "export.csv"  # nothing usable: still a name
    assert not engineer_speak(file_name("../../etc/passwd", ext="txt").replace("-", " "))


def test_counts_take_their_noun_in_the_right_number() -> None:
    from core.labels import counted

    assert counted(1, "call") == "1 call"
    assert counted(0, "recording") == "0 recordings"
    assert counted(3, "queued call") == "3 queued calls"
    assert counted(2, "entry", "entries") == "2 entries"


def test_the_reencrypt_report_counts_in_words() -> None:
    from core.cli.ops import _rewritten
    from core.review.reencrypt import ReencryptReport

    report = ReencryptReport(candidates=1, calls=3, transcripts=1, answers=2, tool_requests=1)
    assert _rewritten(report) == "1 candidate, 3 calls, 0 events, 1 transcript, 2 answers, 1 tool request"


_PLURAL_IN_BRACKETS = re.compile(r"[A-Za-z]+\((?:s|es|ies)\)")
_SCANNED = ("core", "dashboard", "pages", "sidecar", "worker", "sandbox", "tools")


def bracket_plurals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string in `source` that says "call(s)", "batch(es)" or "entr(ies)";
    docstrings, comments and the patterns given to `re` are left out."""
    tree = ast.parse(source)
    skipped: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)):
            skipped.add(id(body[0].value))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"):
            skipped.update(id(n) for arg in node.args for n in ast.walk(arg))
    return [(node.lineno, match.group()) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skipped
            for match in _PLURAL_IN_BRACKETS.finditer(node.value)]


def test_the_bracket_plural_finder_finds_messages_and_leaves_docs_and_patterns_alone() -> None:
    source = ('"""Counts calls(s) in the docstring."""\nimport re\n'
              'def f(n):\n    """The widget(s) of one setting."""\n    # a comment: row(s)\n'
              '    re.compile(r"call(s)?")\n    log("%(s)s Silence (s)")\n'
              '    return f"{n} call(s), " "{n} audit entr(ies)" + f"{n} batch(es)"\n')
    assert bracket_plurals(source) == [(8, "call(s)"), (8, "entr(ies)"), (8, "batch(es)")]


def test_no_message_counts_with_a_bracketed_plural() -> None:
    root = Path(__file__).resolve().parents[2]
    found = [f"{path.relative_to(root)}:{line} {text}"
             for package in _SCANNED for path in sorted((root / package).rglob("*.py"))
             for line, text in bracket_plurals(path.read_text(encoding="utf-8"))]
    assert found == [], "say it with core.labels.counted(n, noun) instead: " + ", ".join(found)
