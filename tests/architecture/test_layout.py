"""The layout keeps its promises: queries only in store modules, small modules, contracts in step.

A store module is `core/db.py`, a `store.py`, or a `*_store.py` of a core feature package. The
product is what runs in production: core, dashboard, pages, sidecar and worker (the sandbox,
tools/ and bench/ are development processes; bench/ queries on purpose to compare approaches).
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("core", "dashboard", "pages", "sidecar", "worker")
EVERY_PACKAGE = (*PRODUCT, "sandbox", "tools", "bench")
MAX_LINES = 500
# Collection methods that only a database collection has.
_COLLECTION_ONLY = frozenset({
    "find_one", "find_one_and_update", "find_one_and_delete", "find_one_and_replace", "insert_one",
    "insert_many", "update_one", "update_many", "replace_one", "delete_one", "delete_many",
    "count_documents", "estimated_document_count", "bulk_write", "distinct", "create_indexes",
    "list_collection_names", "get_collection", "drop_collection",
})
# Names that strings or DataFrames have too: a query only when called on `db[...]`.
_ON_A_COLLECTION = frozenset({"find", "aggregate", "drop", "watch", "rename"})


def _python_files(packages: tuple[str, ...]) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def is_store(path: Path) -> bool:
    """True for the modules allowed to query: core/db.py and the feature stores."""
    rel = path.relative_to(ROOT)
    return rel == Path("core/db.py") or (
        rel.parts[0] == "core" and (path.name == "store.py" or path.name.endswith("_store.py")))


def query_calls(source: str) -> list[tuple[int, str]]:
    """(line, method) of every database query call in a module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in _COLLECTION_ONLY or (name in _ON_A_COLLECTION
                                            and isinstance(node.func.value, ast.Subscript)):
                found.append((node.lineno, name))
    return found


def test_the_query_finder_finds_queries_and_ignores_strings() -> None:
    source = ('db["calls"].find({})\nrows.find("x")\ncol.update_one({}, {})\n'
              'frame.aggregate("sum")\ndb[CALLS].aggregate([])\n')
    assert query_calls(source) == [(1, "find"), (3, "update_one"), (5, "aggregate")]


def test_collection_queries_live_only_in_store_modules() -> None:
    outside = [f"{path.relative_to(ROOT)}:{line} .{name}()"
               for path in _python_files(PRODUCT) if not is_store(path)
               for line, name in query_calls(path.read_text())]
    assert outside == []


def test_no_module_is_longer_than_500_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in _python_files(EVERY_PACKAGE)
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_pymongo_contract_lists_every_store_module() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"]
                    if c.get("forbidden_modules") == ["pymongo", "bson"])
    allowed = {rule.split(" -> ")[0] for rule in contract["ignore_imports"]}
    stores = {".".join(p.relative_to(ROOT).with_suffix("").parts)
              for p in _python_files(("core",)) if is_store(p)}
    assert allowed == stores
