"""`make audit`: pip-audit of the pinned requirements, run only where an advisory service answers.

pip-audit asks PyPI's JSON API for each pinned release's advisories. Where that API is not
really there (a package mirror or proxy that serves only downloads answers 404), pip-audit
skips every package and still prints "No known vulnerabilities found": a result that means
nothing. So first ask for a release with a published advisory; only when that advisory comes
back is the audit run, with --strict (a package it cannot check fails the audit).
"""

from __future__ import annotations

import subprocess  # runs pip-audit with fixed arguments, no shell  # nosec B404
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
ADVISORY_API = "https://pypi.org/pypi/{name}/{version}/json"
# Jinja2 2.10 has a published advisory (CVE-2019-10906, PYSEC-2019-217): a real advisory
# service always lists it.
CANARY = ("jinja2", "2.10")
SKIPPED = "dependency audit skipped: no advisory service"


def advisory_service_reachable(timeout: float = 5.0) -> bool:
    """True when PyPI's advisory data really answers (the canary release's advisory comes back)."""
    name, version = CANARY
    try:
        resp = requests.get(ADVISORY_API.format(name=name, version=version), timeout=timeout)
        return resp.status_code == 200 and bool(resp.json().get("vulnerabilities"))
    except (requests.RequestException, ValueError):
        return False


def audit_command() -> list[str]:
    """pip-audit over both requirement files: pinned, no resolution, strict."""
    return [sys.executable, "-m", "pip_audit", "--strict", "--progress-spinner", "off",
            "--vulnerability-service", "pypi", "--no-deps", "--disable-pip",
            "-r", str(ROOT / "requirements.txt"), "-r", str(ROOT / "requirements-dev.txt")]


def main() -> int:
    """Run the audit or say plainly that it was skipped; returns the exit status."""
    if not advisory_service_reachable():
        print(SKIPPED)
        return 0
    command = audit_command()
    return subprocess.run(command, cwd=ROOT, check=False).returncode  # nosec B603


if __name__ == "__main__":
    sys.exit(main())
