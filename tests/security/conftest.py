"""Attacker-style tests drive the whole stack that tests/e2e starts, through the same fixtures."""

from tests.e2e.conftest import browser, page, stack  # noqa: F401
