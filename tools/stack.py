"""`make run`: start the database if needed, then every process of the Procfile via honcho."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from core import auth
from core import db as dbmod
from core.config import describe_error, get_settings
from tools.embedded_db import launcher as embedded_db

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data"


def honcho_command(processes: list[str]) -> list[str]:
    """The command that runs these Procfile processes under honcho (also used by the e2e tests)."""
    return [sys.executable, "-m", "honcho", "-f", str(ROOT / "Procfile"), "-d", str(ROOT), "start",
            *processes]


def _fail(message: str) -> int:
    print(f"\n  ✗ {message}\n", file=sys.stderr)
    return 2


def _prepare_env() -> dict[str, str]:
    """Environment for the child processes: generated sandbox secrets shared by all of them."""
    env = os.environ.copy()
    settings = get_settings()
    if settings.is_sandbox and not settings.ultravox_webhook_secret:
        # The sandbox signs and the sidecar verifies with the same generated secret.
        env["ULTRAVOX_WEBHOOK_SECRET"] = secrets.token_urlsafe(32)
    env.setdefault("PYTHONPATH", str(ROOT))
    env["PROVIDER_MODE"] = settings.provider_mode or "sandbox"
    return env


def main() -> int:
    """Run the whole local stack until Ctrl-C; returns the exit code."""
    logging.basicConfig(level=logging.WARNING)
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
        dbmod.ensure_indexes(db)
        admin_password = (
            settings.admin_password.get_secret_value() if settings.admin_password else None
        )
        if (
            not settings.is_sandbox
            and not admin_password
            and not auth.has_users(db)
        ):
            return _fail(
                "Live mode with no users: set ADMIN_USERNAME and ADMIN_PASSWORD for the first admin."
            )
        username, generated = auth.ensure_first_admin(
            db, settings.admin_username or "admin", admin_password
        )

        env = _prepare_env()
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
        if generated:
            print(
                f"  Log in as:  {username} / {generated}   (generated now, shown once; change it in Users)"
            )
        else:
            print(f"  Log in as:  an existing user (first admin: {username})")
        print("  Ctrl-C stops everything.\n")
        sys.stdout.flush()

        child = subprocess.Popen(honcho_command(processes), env=env, cwd=ROOT)

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
