"""The whole stack as `make run` starts it (honcho + Procfile), and a headless Chromium."""

from __future__ import annotations

import importlib.util
import os
import secrets
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from core import auth
from tools.embedded_db.launcher import free_port
from tools.stack import honcho_command

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_PASSWORD = "e2e-admin-password-1"


@dataclass
class Stack:
    """URLs and handles of a running stack."""

    dashboard_url: str
    sidecar_url: str
    sandbox_url: str | None
    env: dict[str, str]
    db: object
    log: Path


def _wait_http(url: str, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"stack exited early:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout} s:\n{log.read_text()[-3000:]}")


# tests/security/ uses these fixtures too (its conftest imports them), so pytest holds two
# definitions of each; without sharing, each would start its own stack and its own Playwright,
# which refuses to start twice in one thread. The first one started is the one both get.
_SHARED: dict[str, object] = {}


@pytest.fixture(scope="session")
def stack(mongo_server: str, tmp_path_factory, artifacts_dir: Path) -> Iterator[Stack]:
    """Start sidecar, worker, dashboard (and the sandbox) from the Procfile on free ports."""
    if "stack" in _SHARED:
        yield _SHARED["stack"]  # type: ignore[misc]
        return
    ports = {k: str(free_port()) for k in ("DASHBOARD_PORT", "WEBHOOK_PORT", "SANDBOX_PORT")}
    env = {
        **os.environ,
        **ports,
        "ENV_FILE": "",
        "MONGODB_URI": mongo_server,
        "MONGODB_DB": f"e2e_{uuid.uuid4().hex[:10]}",
        "PROVIDER_MODE": "sandbox",
        "SANDBOX_SPEED": "40",
        "ULTRAVOX_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "PYTHONPATH": str(ROOT),
    }
    for key in ("ULTRAVOX_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"):
        env.pop(key, None)
    # Settings of this test process must match the stack's, for direct DB seeding.
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from core import db as dbmod
    from core.config import get_settings

    get_settings.cache_clear()
    dbmod.get_client.cache_clear()
    database = dbmod.get_db()
    dbmod.ensure_indexes(database)
    auth.create_user(database, "admin", ADMIN_PASSWORD, "admin", name="E2E Admin", actor=auth.OPERATOR)

    processes = ["sidecar", "worker", "dashboard"]
    has_sandbox = importlib.util.find_spec("sandbox.__main__") is not None
    if has_sandbox:
        processes.append("sandbox")
    log = artifacts_dir / "e2e-stack.log"
    out = log.open("w")
    proc = subprocess.Popen(
        honcho_command(processes), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_http(f"http://127.0.0.1:{ports['WEBHOOK_PORT']}/healthz", 60, proc, log)
        _wait_http(f"http://127.0.0.1:{ports['DASHBOARD_PORT']}/_stcore/health", 90, proc, log)
        _SHARED["stack"] = Stack(
            dashboard_url=f"http://127.0.0.1:{ports['DASHBOARD_PORT']}",
            sidecar_url=f"http://127.0.0.1:{ports['WEBHOOK_PORT']}",
            sandbox_url=f"http://127.0.0.1:{ports['SANDBOX_PORT']}" if has_sandbox else None,
            env=env,
            db=database,
            log=log,
        )
        yield _SHARED["stack"]  # type: ignore[misc]
    finally:
        _SHARED.pop("stack", None)
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        out.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        dbmod.get_client.cache_clear()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (its own browser download is not used)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it as root)")
    if "browser" in _SHARED:
        yield _SHARED["browser"]
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = _SHARED["browser"] = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            _SHARED.pop("browser", None)
            b.close()


@pytest.fixture
def page(browser):
    """A fresh browser page (own cookies) per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20000)
    yield pg
    context.close()


def login(page, stack: Stack, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Log in through the real form and wait for the home page."""
    page.goto(stack.dashboard_url)
    page.get_by_label("Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Login").click()
    page.get_by_role("heading", name="Voice Screening Console").wait_for()
    # The re-login cookie is written by a component just after; later page loads need it.
    for _ in range(50):
        if any(c["name"] == "vsc_auth" for c in page.context.cookies()):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the log-in cookie was never set")
