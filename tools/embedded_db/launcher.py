"""Start and stop the local MongoDB stand-in used when MONGODB_URI is unset."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

ROOT = Path(__file__).resolve().parents[2]
JARS = ROOT / ".tools" / "mongo-java-server"
LAUNCHER_SRC = ROOT / "tools" / "embedded_db" / "EmbeddedMongo.java"
LAUNCHER_CLASSES = ROOT / ".tools" / "launcher"


class EmbeddedDbError(RuntimeError):
    """The embedded database could not be started; the message says why and what to do."""


@dataclass
class EmbeddedDb:
    """A running embedded server process."""

    process: subprocess.Popen
    port: int
    kind: str

    @property
    def uri(self) -> str:
        """Connection string for pymongo."""
        return f"mongodb://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 15) -> None:
        """Stop it with SIGTERM (the H2 backend commits on a clean shutdown)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def port_in_use(port: int) -> bool:
    """True if something already listens on 127.0.0.1:port."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _java_command(port: int, data_file: Path | None) -> tuple[list[str], str]:
    mongod = shutil.which("mongod")
    if mongod and data_file is not None:
        data_dir = data_file.parent / "mongod"
        data_dir.mkdir(parents=True, exist_ok=True)
        return [
            mongod,
            "--bind_ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--dbpath",
            str(data_dir),
        ], "mongod"
    if not shutil.which("java"):
        raise EmbeddedDbError(
            "Java 17 is needed for the embedded database but `java` is not on PATH."
        )
    if not JARS.is_dir() or not any(JARS.glob("mongo-java-server-*.jar")):
        raise EmbeddedDbError(
            f"The embedded database jars are missing from {JARS}. Run `make tools` (needs Maven)."
        )
    classpath = f"{JARS}/*"
    if (LAUNCHER_CLASSES / "EmbeddedMongo.class").exists():
        classpath = f"{LAUNCHER_CLASSES}:{classpath}"
        main = ["EmbeddedMongo"]
    else:
        main = [str(LAUNCHER_SRC)]
    args = ["--port", str(port)] + (["--data", str(data_file)] if data_file else ["--memory"])
    cmd = [
        "java",
        "-Xss512k",
        "-XX:+UseSerialGC",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp",
        classpath,
        *main,
        *args,
    ]
    return cmd, "mongo-java-server (H2)" if data_file else "mongo-java-server (memory)"


def wait_ready(uri: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Poll `ping` until the server answers or the timeout passes."""
    deadline = time.monotonic() + timeout
    client = MongoClient(uri, serverSelectionTimeoutMS=500, connectTimeoutMS=500)
    try:
        while True:
            if process is not None and process.poll() is not None:
                raise EmbeddedDbError(
                    f"The embedded database exited with code {process.returncode}."
                )
            try:
                client.admin.command("ping")
                return
            except PyMongoError:
                if time.monotonic() > deadline:
                    raise EmbeddedDbError(
                        f"The database at {uri} did not answer within {timeout:.0f} s."
                    ) from None
                time.sleep(0.2)
    finally:
        client.close()


def start(
    port: int, data_file: Path | None, *, timeout: float = 60, log_file: Path | None = None
) -> EmbeddedDb:
    """Start a server on 127.0.0.1:port (file-backed if data_file, else in memory) and wait for it."""
    if port_in_use(port):
        raise EmbeddedDbError(
            f"Port {port} is already in use. Stop what uses it or set EMBEDDED_DB_PORT to a free port."
        )
    if data_file is not None:
        data_file.parent.mkdir(parents=True, exist_ok=True)
    cmd, kind = _java_command(port, data_file)
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
    db = EmbeddedDb(process=process, port=port, kind=kind)
    try:
        wait_ready(db.uri, timeout, process)
    except EmbeddedDbError:
        db.stop()
        raise
    return db
