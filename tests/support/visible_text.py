"""Finds engineer-speak in text a user sees: internal ids, raw JSON, stored codes, Python
literals and timestamps with microseconds. Page and browser tests run it on every page's text
(tables included)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.labels import known_codes

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("internal id", re.compile(r"\b[0-9a-f]{32}\b")),
    ("provider id", re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")),
    ("provider id", re.compile(r"\b(?:CA|RE|AC)[0-9a-f]{32}\b")),
    ("raw JSON", re.compile(r"[{\[]\s*\"[^\"\n]{1,60}\"\s*:")),
    ("Python literal", re.compile(r"(?<![\w'\"])(?:True|False|None)(?![\w'\"])")),
    ("timestamp with microseconds", re.compile(r"\d{2}:\d{2}:\d{2}\.\d{3,6}")),
    ("ISO timestamp", re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")),
]
# Codes that are also ordinary words a sentence may use ("open", "human", "busy" …) are only
# flagged when written as codes: with an underscore.
_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


@dataclass(frozen=True)
class Finding:
    """One piece of engineer-speak and what kind it is."""

    kind: str
    text: str


def engineer_speak(text: str, *, allowed: frozenset[str] = frozenset()) -> list[Finding]:
    """Every internal id, JSON fragment, stored code, Python literal or microsecond timestamp
    in `text`, except the exact strings in `allowed` (e.g. a user name that looks like a code)."""
    found = [Finding(kind, m.group(0)) for kind, pattern in _PATTERNS for m in pattern.finditer(text)]
    codes = known_codes()
    found += [Finding("stored code", m.group(0)) for m in _CODE.finditer(text) if m.group(0) in codes]
    return [f for f in found if f.text not in allowed]
