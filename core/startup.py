"""What every process does first: refuse a bad configuration in one line, mask logs, and the
go-live checks the dashboard's banners show."""

from __future__ import annotations

import sys

from core import auth, logsafety
from core import db as dbmod
from core.config import Settings, describe_error, get_settings, live_problems
from core.db import Database, DatabaseError

EXIT_CONFIG = 2  # the exit status of a refused start (argparse and `make run` use 2 as well)


def refusal(process: str, exc: Exception) -> str:
    """The one line a process prints when its configuration is refused."""
    return f"{process}: configuration refused: {describe_error(exc)}"


def settings_or_exit(process: str, exit_code: int = EXIT_CONFIG) -> Settings:
    """The validated settings, or one clear line on stderr and exit status 2 (no traceback)."""
    try:
        return get_settings()
    except Exception as exc:  # noqa: BLE001 - any settings problem is the operator's to fix
        # Not logged: logging is configured from the settings that were just refused.
        print(refusal(process, exc), file=sys.stderr, flush=True)
        raise SystemExit(exit_code) from None


def start_process(process: str, exit_code: int = EXIT_CONFIG) -> Settings:
    """Start-up of a long-running process: check the configuration, then set up safe logging."""
    settings = settings_or_exit(process, exit_code)
    logsafety.configure(settings.log_level)
    return settings


def refuse_embedded_store(process: str, settings: Settings, exit_code: int = EXIT_CONFIG) -> None:
    """Live mode: refuse to run the processes that write calls and webhooks on the embedded
    stand-in database (it has no replication or backups: one disk is every acknowledged write).

    A database that does not answer now is not refused here: the process waits for it as it
    would for any outage, and writes nothing meanwhile.
    """
    if settings.provider_mode != "live":
        return
    if dbmod.reaches_embedded_stand_in(settings.effective_mongodb_uri):
        print(f"{process}: configuration refused: MONGODB_URI reaches the embedded stand-in database "
              "(a local test server without replication or backups); live mode needs a real "
              "MongoDB replica set or Atlas.", file=sys.stderr, flush=True)
        raise SystemExit(exit_code)


def not_ready_for_live(settings: Settings) -> list[str]:
    """What live mode would refuse today (the sandbox banner lists it)."""
    return live_problems(settings)


def runtime_problems(db: Database) -> list[str]:
    """Problems of the running deployment that live mode shows in a red banner."""
    try:
        facts = dbmod.server_facts(db)
    except DatabaseError as exc:
        return [f"The database cannot be asked what it is ({type(exc).__name__})."]
    problems = []
    if facts["embedded_stand_in"]:
        problems.append(
            "MONGODB_URI reaches the embedded stand-in server, a local test database without "
            "replication or backups: point MONGODB_URI at a real MongoDB replica set or Atlas."
        )
    elif not facts["replica_set"] and not facts["sharded"]:
        problems.append(
            "MongoDB runs without a replica set (no failover, no point-in-time backups): "
            "use a replica set or Atlas for MONGODB_URI."
        )
    return problems


def prepare_database(db: Database) -> None:
    """Start-up housekeeping: indexes, and no log-in cookie key left in the database."""
    dbmod.ensure_indexes(db)
    # Older versions kept a generated cookie key in `app_state`: anyone reading the database
    # could mint an admin cookie with it. It is never read any more; remove it too.
    auth.forget_stored_cookie_key(db)

