"""The service under load as its own process, its database, and what is read from outside it.

- `sqlite_database` / `postgres_database`: a fresh database for one benchmark (a temporary
  directory; a PostgreSQL database created for it and dropped after, even on failure).
- `Checkout`: the code that runs, `app.cli` of any checkout (`--service-root`), and its
  `migrate` and `tenants create` commands against the benchmark's database.
- `ServiceProcess`: `python -m app.cli serve` started, waited for, and always stopped.
- `ProcessProbe`: the service's resident memory (peak, sampled) and CPU time, from /proc.
- `LogWatch`: what the service logged during one phase (QueuePool limit lines, errors).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
CLI_TIMEOUT = 300.0


@dataclass(frozen=True)
class Target:
    """One database to benchmark on."""

    name: str  # SQLite | PostgreSQL
    url: str
    data_dir: Path  # ONBOARDER_DATA_DIR: the generated encryption key, SQLite's file
    version: str


@contextmanager
def sqlite_database() -> Iterator[Target]:
    import sqlite3

    with tempfile.TemporaryDirectory(prefix="bench-load-") as directory:
        path = Path(directory) / "onboarder.db"
        yield Target("SQLite", f"sqlite:///{path}", Path(directory), sqlite3.sqlite_version)


def postgres_unreachable(admin_url: str) -> str | None:
    """Why PostgreSQL cannot be used, or None."""
    import psycopg

    try:
        with psycopg.connect(_libpq(admin_url), connect_timeout=3, autocommit=True):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@contextmanager
def postgres_database(admin_url: str) -> Iterator[Target]:
    """A database of its own, dropped at the end whatever happened."""
    import psycopg

    name = f"bench_load_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(admin_url), connect_timeout=5, autocommit=True) as admin:
        version = str(admin.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-load-") as directory:
            yield Target("PostgreSQL", url, Path(directory), version)
    finally:
        with psycopg.connect(_libpq(admin_url), connect_timeout=5, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _libpq(url: str) -> str:
    """psycopg takes postgresql:// URLs, not SQLAlchemy's postgresql+psycopg://."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# ------------------------------------------------------------------------------ the checkout
@dataclass(frozen=True)
class Checkout:
    """The service's code: a checkout's app/, run with a Python that has its dependencies."""

    root: Path
    python: str

    def env(self, target: Target, *, log_level: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ONBOARDER_")}
        env.update(
            # The checkout's app/ before any installed one (an editable install of another).
            PYTHONPATH=str(self.root),
            ONBOARDER_MODE="embedded",
            ONBOARDER_DATABASE_URL=target.url,
            ONBOARDER_DATA_DIR=str(target.data_dir),
            ONBOARDER_AUTO_MIGRATE="false",  # `migrate` ran before the service started
            ONBOARDER_EMBEDDED_SCHEDULER="false",
            ONBOARDER_LOG_FORMAT="text",
            ONBOARDER_LOG_LEVEL=log_level,
            # Nothing here calls AWS; this keeps anything from asking STS who the platform is.
            ONBOARDER_PLATFORM_PRINCIPAL_ARN="arn:aws:iam::999999999999:user/bench-load",
        )
        return env

    def cli(self, target: Target, *args: str) -> str:
        done = subprocess.run(
            [self.python, "-m", "app.cli", *args],
            cwd=self.root,
            env=self.env(target, log_level="WARNING"),
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"onboarder {' '.join(args)}: {done.returncode}\n{done.stderr}")
        return done.stdout

    def app_location(self) -> str:
        """Where the service's `import app` finds it, as the service is started."""
        done = subprocess.run(
            [self.python, "-c", "import app; print(app.__file__)"],
            cwd=self.root,
            env={**os.environ, "PYTHONPATH": str(self.root)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return str(Path(done.stdout.strip()).parent) if done.returncode == 0 else done.stderr

    def describe(self) -> str:
        """The checkout's commit, and whether its app/ differs from it."""
        git = shutil.which("git")
        if git is None:
            return str(self.root)
        try:
            commit = subprocess.run(
                [git, "-C", str(self.root), "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
            dirty = subprocess.run(
                [git, "-C", str(self.root), "status", "--porcelain", "--", "app", "migrations"],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return str(self.root)
        state = "with uncommitted changes in app/ or migrations/" if dirty else "clean"
        return f"{self.root} at {commit} ({state})"


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    api_key: str


def create_tenant(checkout: Checkout, target: Target, name: str) -> Tenant:
    out = checkout.cli(target, "tenants", "create", name)
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return Tenant(uuid.UUID(fields["tenant_id"].strip()), fields["api_key"].strip())


# ------------------------------------------------------------------------------ the process
class ServiceProcess:
    """`python -m app.cli serve` on a free port, its stdout and stderr in `log_path`."""

    def __init__(self, checkout: Checkout, target: Target, *, log_path: Path, log_level: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        port = str(self.port)
        self.process = subprocess.Popen(
            [checkout.python, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", port],
            cwd=checkout.root,
            env=checkout.env(target, log_level=log_level),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"the service exited ({self.process.returncode}):\n{self.log_tail()}"
                    )
                try:
                    if client.get("/healthz").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"the service did not answer /healthz in {timeout:.0f} s")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not exited within STOP_TIMEOUT."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of the process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command's closing parenthesis: state is field 3, utime 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


class ProcessProbe:
    """Samples a process's resident memory every `interval` s; `take()` returns the peak
    since the previous `take()`."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self._lock = threading.Lock()
        self._peak = _rss_mb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-probe", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = _rss_mb(self.pid)
            with self._lock:
                self._peak = max(self._peak, rss)

    def take(self) -> float:
        rss = _rss_mb(self.pid)
        with self._lock:
            peak, self._peak = max(self._peak, rss), rss
        return peak

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


# ------------------------------------------------------------------------------ the log
QUEUEPOOL = re.compile(r"QueuePool limit")


@dataclass(frozen=True)
class LogCounts:
    queuepool: int = 0  # lines with "QueuePool limit" (SQLAlchemy's pool timeout)
    errors: int = 0  # ERROR and CRITICAL records
    tracebacks: int = 0


class LogWatch:
    """Counts what was logged since the previous `take()`."""

    def __init__(self, path: Path, *, offset: int | None = None) -> None:
        self.path = path
        self._offset = offset if offset is not None else path.stat().st_size

    def take(self) -> LogCounts:
        with self.path.open("rb") as log:
            log.seek(self._offset)
            text = log.read().decode(errors="replace")
            self._offset = log.tell()
        lines = text.splitlines()
        return LogCounts(
            queuepool=sum(1 for line in lines if QUEUEPOOL.search(line)),
            errors=sum(1 for line in lines if " ERROR " in line or " CRITICAL " in line),
            tracebacks=sum(1 for line in lines if line.startswith("Traceback ")),
        )
