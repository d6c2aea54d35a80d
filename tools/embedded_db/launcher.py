"""Start and stop the local MongoDB stand-in used when MONGODB_URI is unset."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess  # starts the local database server, no shell  # nosec B404
import time
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

ROOT = Path(__file__).resolve().parents[2]
JARS = ROOT / ".tools" / "mongo-java-server"
LAUNCHER_SRC = ROOT / "tools" / "embedded_db" / "EmbeddedMongo.java"
LAUNCHER_CLASSES = ROOT / ".tools" / "launcher"
# Written by `make tools` beside the classes: the sha256 of the source they were compiled from.
LAUNCHER_STAMP = LAUNCHER_CLASSES / "EmbeddedMongo.java.sha256"


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

    def kill(self, timeout: float = 15) -> None:
        """Kill it with SIGKILL, as a crash would: nothing gets a chance to commit."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout)


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


def compiled_launcher_is_current() -> bool:
    """True if .tools/launcher holds classes compiled from this checkout's EmbeddedMongo.java."""
    try:
        recorded = LAUNCHER_STAMP.read_text().split()[0]
    except (OSError, IndexError):
        return False
    return recorded == hashlib.sha256(LAUNCHER_SRC.read_bytes()).hexdigest()


def _java_command(port: int, data_file: Path | None, durable: bool) -> tuple[list[str], str]:
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
    # .tools is shared by every checkout: classes compiled from another version of the source
    # would silently run other code, so without a matching stamp Java runs the source itself.
    if compiled_launcher_is_current():
        classpath = f"{LAUNCHER_CLASSES}:{classpath}"
        main = ["EmbeddedMongo"]
    else:
        main = [str(LAUNCHER_SRC)]
    args = ["--port", str(port)]
    if data_file:
        args += ["--data", str(data_file), "--durable" if durable else "--no-durable"]
    else:
        args += ["--memory"]
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
    if data_file is None:
        return cmd, "mongo-java-server (memory)"
    return cmd, "mongo-java-server (H2)" if durable else "mongo-java-server (H2, not durable)"


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
    port: int,
    data_file: Path | None,
    *,
    timeout: float = 60,
    log_file: Path | None = None,
    durable: bool = True,
) -> EmbeddedDb:
    """Start a server on 127.0.0.1:port (file-backed if data_file, else in memory) and wait for it.

    With a data file every write is committed and fsynced before it is acknowledged; pass
    durable=False only to measure or demonstrate the library's periodic commit (it loses
    acknowledged writes when the process dies).
    """
    if port_in_use(port):
        raise EmbeddedDbError(
            f"Port {port} is already in use. Stop what uses it or set EMBEDDED_DB_PORT to a free port."
        )
    if data_file is not None:
        data_file.parent.mkdir(parents=True, exist_ok=True)
    cmd, kind = _java_command(port, data_file, durable)
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
    env = os.environ.copy()
    process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)  # nosec B603
    db = EmbeddedDb(process=process, port=port, kind=kind)
    try:
        wait_ready(db.uri, timeout, process)
    except EmbeddedDbError:
        db.stop()
        raise
    return db
