"""The dependency audit runs only where an advisory service really answers, and strictly."""

from __future__ import annotations

import subprocess

import pytest
import requests

from tools import audit


class _Response:
    def __init__(self, status: int, body: object) -> None:
        self.status_code, self._body = status, body

    def json(self) -> object:
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


def _no_pip_audit(*_a, **_k):
    raise AssertionError("pip-audit must not run without an advisory service")


@pytest.mark.parametrize("answer", [
    requests.ConnectionError("no route"),            # nothing reachable
    _Response(404, {}),                               # a download-only mirror (this machine)
    _Response(200, {"info": {}, "vulnerabilities": []}),  # answers, but without advisories
    _Response(200, ValueError("not json")),
])
def test_no_advisory_service_means_skipped_not_a_clean_result(monkeypatch, capsys, answer):
    def fake_get(*_a, **_k):
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(audit.requests, "get", fake_get)
    monkeypatch.setattr(audit.subprocess, "run", _no_pip_audit)
    assert audit.main() == 0
    out = capsys.readouterr().out
    assert "skipped: no advisory service" in out and "No known vulnerabilities" not in out


def test_with_an_advisory_service_pip_audit_runs_strictly(monkeypatch):
    calls = []
    monkeypatch.setattr(audit.requests, "get",
                        lambda *_a, **_k: _Response(200, {"vulnerabilities": [{"id": "PYSEC-2019-217"}]}))
    monkeypatch.setattr(audit.subprocess, "run",
                        lambda cmd, **_k: calls.append(cmd) or subprocess.CompletedProcess(cmd, 1))
    assert audit.main() == 1  # a finding (or an unauditable package) fails `make lint`
    cmd = calls[0]
    assert "--strict" in cmd and "pip_audit" in cmd
    assert any(str(arg).endswith("requirements.txt") for arg in cmd)
