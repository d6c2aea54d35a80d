"""The import graph of the product has no cycle, counting imports inside functions too.

import-linter (run by `make test`) keeps the directions between packages; this test keeps
the module graph acyclic, which import-linter does not check. grimp reads every import
statement of a module, wherever it stands, so a cycle hidden inside a function is found.
"""

from __future__ import annotations

import grimp

PACKAGES = ("core", "dashboard", "pages", "sidecar", "worker", "sandbox", "tools")


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: every group of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.append(member)
                        if member == node:
                            break
                    if len(group) > 1:
                        groups.append(sorted(group))
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return groups


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_back() -> None:
    built = grimp.build_graph(*PACKAGES, cache_dir=None)
    ours = {m for m in built.modules if m.split(".")[0] in PACKAGES}
    graph = {m: {d for d in built.find_modules_directly_imported_by(m) if d in ours}
             for m in ours}
    assert strongly_connected(graph) == []
