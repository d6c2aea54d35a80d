"""The database commands a piece of code sends, counted with pymongo's command monitoring."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pymongo import MongoClient, monitoring
from pymongo.database import Database


class CommandLog(monitoring.CommandListener):
    """Every command started on the listened client, in order (name and body)."""

    def __init__(self) -> None:
        self.started_commands: list[tuple[str, dict[str, Any]]] = []

    @property
    def names(self) -> list[str]:
        """The command names, in order."""
        return [name for name, _ in self.started_commands]

    def clear(self) -> None:
        """Forget what was sent so far."""
        self.started_commands.clear()

    def started(self, event: monitoring.CommandStartedEvent) -> None:  # noqa: D102 - pymongo hook
        self.started_commands.append((event.command_name, dict(event.command)))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:  # noqa: D102
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:  # noqa: D102
        pass


@contextmanager
def listened(uri: str, db_name: str) -> Iterator[tuple[Database, CommandLog]]:
    """The test database through a client of its own whose commands are logged."""
    log = CommandLog()
    client: MongoClient = MongoClient(uri, tz_aware=True, event_listeners=[log])
    try:
        yield client[db_name], log
    finally:
        client.close()
