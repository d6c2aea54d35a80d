"""`make run`: start the database if needed, then every process of the Procfile via honcho."""

from __future__ import annotations

import logging
import os
import signal
import subprocess  # starts our own Procfile processes, no shell  # nosec B404
import sys
from pathlib import Path
from typing import TextIO

from core import auth, logsafety, startup
from core import db as dbmod
from core.config import Settings, describe_error, get_settings
from core.db import Database
from tools.embedded_db import launcher as embedded_db

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data"
TTY = "/dev/tty"  # where a generated password is shown when stdout is redirected


def honcho_command(processes: list[str]) -> list[str]:
    """The command that runs these Procfile processes under honcho (also used by the e2e tests)."""
    return [sys.executable, "-m", "honcho", "-f", str(ROOT / "Procfile"), "-d", str(ROOT), "start",
            *processes]


def _fail(message: str) -> int:
    print(f"\n  ✗ {message}\n", file=sys.stderr)
    return 2


def _prepare_env(settings: Settings) -> dict[str, str]:
    """Environment for the child processes (sandbox secrets come from .data/, not from here)."""
    env = os.environ.copy()
    env.setdefault("PYTHONPATH", str(ROOT))
    env["PROVIDER_MODE"] = settings.provider_mode or "sandbox"
    return env


def open_terminal() -> TextIO | None:
    """The terminal to show a secret on once: stdout if it is one, else /dev/tty, else None."""
    if sys.stdout.isatty():
        return sys.stdout
    try:
        return open(TTY, "w", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    except OSError:
        return None


def first_admin(db: Database, settings: Settings) -> tuple[str | None, str | None, str | None]:
    """Create the first admin if needed: (username, password to show once, or an error)."""
    username = settings.admin_username or "admin"
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    if password or auth.has_users(db):
        auth.ensure_first_admin(db, username, password)
        return username, None, None
    if not settings.is_sandbox:
        return None, None, ("Live mode with no users: set ADMIN_USERNAME and ADMIN_PASSWORD for "
                            "the first admin.")
    terminal = open_terminal()
    if terminal is None:
        # A generated password printed to a redirected output would end up in a log file.
        return None, None, (
            "No user exists yet and there is no terminal to show a generated password on once "
            "(the output is redirected): set ADMIN_PASSWORD, or create the admin with "
            "`.venv/bin/python -m core.manage create-user admin --role admin` in a terminal."
        )
    username, generated = auth.ensure_first_admin(db, username, None)
    if generated and terminal is not sys.stdout:
        terminal.write(f"\n  Log in as:  {username} / {generated}   (generated now, shown once "
                       "on this terminal; change it in Users)\n\n")
        terminal.flush()
        generated = None  # shown already, on the terminal only
    if terminal is not sys.stdout:
        terminal.close()
    return username, generated, None


def main() -> int:
    """Run the whole local stack until Ctrl-C; returns the exit code."""
    logging.basicConfig(level=logging.WARNING)
    logsafety.install_phone_masking()
    try:
        settings = get_settings()
    except Exception as exc:  # noqa: BLE001 - any settings problem stops the launch with a reason
        return _fail(f"Invalid configuration: {describe_error(exc)}")

    server = None
    if settings.uses_embedded_db:
        port = settings.embedded_db_port
        if embedded_db.port_in_use(port):
            try:
                embedded_db.wait_ready(settings.effective_mongodb_uri, timeout=3)
                print(f"  • Reusing the MongoDB already listening on 127.0.0.1:{port}")
            except embedded_db.EmbeddedDbError:
                return _fail(
                    f"Port {port} is taken by something that is not MongoDB. "
                    "Stop it or set EMBEDDED_DB_PORT to a free port."
                )
        else:
            print(f"  • Starting the embedded database on 127.0.0.1:{port} (data in .data/) …")
            try:
                server = embedded_db.start(
                    port, DATA_DIR / "voice_screening.mv", log_file=DATA_DIR / "embedded-db.log"
                )
            except embedded_db.EmbeddedDbError as exc:
                return _fail(f"The embedded database did not start: {exc}")
            print(f"    ready ({server.kind})")
    else:
        print("  • Using MONGODB_URI")

    try:
        db = dbmod.get_db()
        ok, reason = dbmod.ping(db)
        if not ok:
            return _fail(f"MongoDB is not reachable: {reason}")
        startup.prepare_database(db)
        username, generated, problem = first_admin(db, settings)
        if problem:
            return _fail(problem)

        env = _prepare_env(settings)
        processes = ["sidecar", "worker", "dashboard"] + (
            ["sandbox"] if settings.is_sandbox else []
        )
        print()
        print(f"  Voice Screening Console ({settings.provider_mode} mode)")
        print(f"  Dashboard:  http://127.0.0.1:{settings.dashboard_port}")
        print(
            f"  Webhooks:   http://127.0.0.1:{settings.webhook_port}  (health: /healthz, /readyz)"
        )
        if settings.is_sandbox:
            print(
                f"  Sandbox:    http://127.0.0.1:{settings.sandbox_port}  (simulated Ultravox + Twilio)"
            )
        if generated:  # stdout is a terminal here (see first_admin): shown once, never logged
            print(
                f"  Log in as:  {username} / {generated}   (generated now, shown once; change it in Users)"
            )
        else:
            print(f"  Log in as:  an existing user or the first admin ({username})")
        print("  Ctrl-C stops everything.\n")
        sys.stdout.flush()

        command = honcho_command(processes)
        child = subprocess.Popen(command, env=env, cwd=ROOT)  # nosec B603

        stopping = []

        def _forward(signum: int, _frame: object) -> None:
            # Ctrl-C in a terminal reaches honcho too; a signal sent to us alone must as well.
            stopping.append(signum)
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, _forward)
        signal.signal(signal.SIGINT, _forward)
        code = child.wait()
        return 0 if stopping else code
    finally:
        if server is not None:
            print("  • Stopping the embedded database …")
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
