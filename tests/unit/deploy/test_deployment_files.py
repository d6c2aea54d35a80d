"""The production sketch and the run files, checked as far as this machine can (no Docker here):
compose parsed as YAML, the image's inputs, gunicorn's settings, Streamlit's limits, the Makefile."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from core.people.csv_import import MAX_IMPORT_BYTES

ROOT = Path(__file__).resolve().parents[3]
DEV_PACKAGES = {"pytest", "pytest-timeout", "playwright", "ruff", "hypothesis", "honcho", "bandit",
                "pip-audit", "import-linter"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_mongodb_is_not_published_and_requires_authentication(compose):
    mongo = compose["services"]["mongo"]
    assert "ports" not in mongo
    env = mongo["environment"]
    assert env["MONGO_INITDB_ROOT_USERNAME"] and env["MONGO_INITDB_ROOT_PASSWORD"]
    command = " ".join(mongo["command"])
    assert "--auth" in command and "--keyFile" in command and "--replSet" in command


def test_the_app_connects_with_credentials_to_the_replica_set(compose):
    uri = compose["x-app"]["environment"]["MONGODB_URI"]
    credentials = r"\$\{MONGO_APP_USERNAME[^}]*\}:\$\{MONGO_APP_PASSWORD[^}]*\}"
    assert re.match(rf"mongodb://{credentials}@mongo:27017/", uri)
    assert "replicaSet=rs0" in uri
    assert compose["x-app"]["environment"]["PROVIDER_MODE"] == "live"


def test_only_the_tls_proxy_publishes_ports(compose):
    services = compose["services"]
    published = {name: svc.get("ports") for name, svc in services.items() if svc.get("ports")}
    assert set(published) == {"proxy"}
    assert "443:443" in published["proxy"]
    assert services["proxy"]["image"].startswith("caddy")
    assert set(services["proxy"]["depends_on"]) >= {"dashboard", "sidecar"}
    caddyfile = (ROOT / "Caddyfile").read_text()
    assert "reverse_proxy dashboard:8501" in caddyfile and "reverse_proxy sidecar:8001" in caddyfile
    assert "/_stcore/metrics" in caddyfile and "respond @metrics 404" in caddyfile
    assert any("Caddyfile:/etc/caddy/Caddyfile" in v for v in services["proxy"]["volumes"])


def test_the_processes_start_the_way_the_procfile_does(compose):
    services = compose["services"]
    assert services["sidecar"]["command"][:3] == ["gunicorn", "-c", "sidecar/gunicorn_conf.py"]
    assert services["worker"]["command"] == ["python", "-m", "worker"]
    assert services["dashboard"]["command"] == ["python", "-m", "dashboard.serve"]
    procfile = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)
    assert "-c sidecar/gunicorn_conf.py" in procfile["sidecar"]
    assert procfile["dashboard"].endswith("-m dashboard.serve")


def test_secrets_local_data_and_dev_folders_never_enter_the_image():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".env", ".data", ".venv", ".tools", ".git", "tests", "sandbox", "tools"} <= ignored


def test_the_image_holds_only_what_production_runs():
    lines = [shlex.split(line) for line in (ROOT / "Dockerfile").read_text().splitlines()
             if line.startswith("COPY")]
    sources = {words[1].rstrip("/") for words in lines}
    assert sources == {"requirements.txt", "core", "dashboard", "pages", "sidecar", "worker",
                       ".streamlit/config.toml"}
    assert "-r requirements.txt" in (ROOT / "Dockerfile").read_text()
    pinned = (ROOT / "requirements.txt").read_text().splitlines()
    runtime = {line.split("==")[0].strip().lower() for line in pinned if "==" in line}
    assert not runtime & DEV_PACKAGES
    dev = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in dev and all(f"\n{name}==" in dev for name in DEV_PACKAGES)


def test_streamlit_accepts_no_upload_bigger_than_the_csv_import():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 1024 * 1024 == MAX_IMPORT_BYTES


def test_gunicorn_bounds_requests(monkeypatch, tmp_path):
    import logging

    for name in ("WEBHOOK_PORT", "WEBHOOK_BIND", "WEBHOOK_THREADS", "WEBHOOK_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENV_FILE", "")
    monkeypatch.setenv("PROVIDER_MODE", "sandbox")
    monkeypatch.setenv("SANDBOX_SECRETS_FILE", str(tmp_path / "s.json"))
    from core.config import get_settings

    get_settings.cache_clear()
    namespace: dict = {}
    factory = logging.getLogRecordFactory()
    try:
        exec((ROOT / "sidecar" / "gunicorn_conf.py").read_text(), namespace)  # noqa: S102 - our own file
    finally:
        logging.setLogRecordFactory(factory)  # the config installs phone masking process-wide
        get_settings.cache_clear()
    assert namespace["worker_class"] == "sidecar.serving.BoundedThreadWorker"
    assert 0 < namespace["timeout"] <= 60 and namespace["graceful_timeout"] <= 30
    assert namespace["threads"] >= 12
    assert "%(U)s" in namespace["access_log_format"] and "%(r)s" not in namespace["access_log_format"]
    assert namespace["bind"] == ["127.0.0.1:8001"]


def test_lint_runs_bandit_and_the_audit_and_test_runs_neither():
    make = (ROOT / "Makefile").read_text()
    targets = dict(re.findall(r"^([a-z]+):[^\n]*\n((?:\t[^\n]*\n)+)", make, flags=re.M))
    assert "bandit" in targets["lint"] and "audit" in targets["lint"]
    assert "tools.audit" in targets["audit"]
    assert "bandit" not in targets["test"] and "audit" not in targets["test"]
    assert "bandit" in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
