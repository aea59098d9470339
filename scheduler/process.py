"""The auto-onboard scheduler: APScheduler wired to `app.schedules.runs`.

One `Scheduler` polls the database every `scheduler_poll_seconds` (fails dead runs, claims due
occurrences, takes queued runs) and keeps a heartbeat on the runs it executes. It keeps no
schedule in memory: a schedule saved, changed or disabled through any API process is read on
the next poll, and any number of schedulers can run side by side, since every claim is decided
by the database.

It runs inside `onboarder serve` in embedded mode (`embedded`), or as its own process
(`onboarder scheduler`, `run`) beside stateless API processes in production.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from fastapi import FastAPI

from app.core.config import Settings
from app.core.db import Database
from app.core.security import SecretBox
from app.integrations.aws.discovery import DiscoveryEngine
from app.models.base import utcnow
from app.schedules import runs
from app.schedules.runs import Clock, RunServices

logger = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Scheduler:
    def __init__(
        self,
        *,
        database: Database,
        services: RunServices,
        clock: Clock = utcnow,
        worker: str | None = None,
    ) -> None:
        settings = services.settings
        self.database = database
        self.services = services
        self.clock = clock
        self.worker = worker or worker_name()
        self.poll_seconds = settings.scheduler_poll_seconds
        self.max_runs = settings.scheduler_max_runs
        self.stale_after = timedelta(seconds=settings.run_timeout_seconds)
        self._heartbeat_seconds = settings.run_heartbeat_seconds
        self._lock = threading.Lock()
        self._running: dict[uuid.UUID, threading.Thread] = {}
        self._stopping = threading.Event()
        # Polls never overlap (max_instances=1) and a late one is not repeated (coalesce).
        self._aps = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        first = datetime.now(UTC)
        self._aps.add_job(
            self.poll,
            IntervalTrigger(seconds=self.poll_seconds),
            id="poll",
            next_run_time=first,
        )
        self._aps.add_job(
            self.beat, IntervalTrigger(seconds=self._heartbeat_seconds), id="heartbeat"
        )
        self._aps.start()
        logger.info(
            "auto-onboard scheduler started",
            extra={"worker": self.worker, "poll_seconds": self.poll_seconds},
        )

    def stop(self, *, grace_seconds: float = 10.0) -> None:
        """Stop polling, give the runs under way `grace_seconds` to end, fail the rest."""
        self._stopping.set()
        self._aps.shutdown(wait=True)
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(timeout=grace_seconds)
        left = self.running()
        runs.interrupt(self.database, run_ids=left, worker=self.worker, now=self.clock())
        logger.info(
            "auto-onboard scheduler stopped",
            extra={"worker": self.worker, "interrupted": len(left)},
        )

    def wake(self) -> None:
        """Poll now rather than at the next interval (a run was just asked for)."""
        if not self._stopping.is_set():
            self._aps.modify_job("poll", next_run_time=datetime.now(UTC))

    def running(self) -> list[uuid.UUID]:
        """The runs this process has taken and not finished."""
        with self._lock:
            return list(self._running)

    # ------------------------------------------------------------------ jobs
    def poll(self) -> None:
        try:
            self._poll()
        except Exception:
            logger.exception("auto-onboard scheduler poll failed; the next poll tries again")

    def _poll(self) -> None:
        now = self.clock()
        runs.fail_stale_runs(self.database, now=now, timeout=self.stale_after)
        runs.claim_due_occurrences(self.database, now=now)
        while not self._stopping.is_set() and len(self.running()) < self.max_runs:
            run_id = runs.claim_queued_run(self.database, worker=self.worker, now=now)
            if run_id is None:
                return
            # Daemon threads: a process told to stop does not wait for AWS; `stop` fails the
            # runs it leaves, and the next run starts afresh.
            thread = threading.Thread(
                target=self._execute, args=(run_id,), name=f"run-{run_id}", daemon=True
            )
            with self._lock:
                self._running[run_id] = thread
            thread.start()

    def _execute(self, run_id: uuid.UUID) -> None:
        try:
            runs.execute(self.database, self.services, run_id, worker=self.worker, clock=self.clock)
        finally:
            with self._lock:
                self._running.pop(run_id, None)

    def beat(self) -> None:
        try:
            runs.heartbeat(
                self.database, run_ids=self.running(), worker=self.worker, now=self.clock()
            )
        except Exception:
            logger.exception("auto-onboard heartbeat failed; the next one tries again")


def build(
    settings: Settings, database: Database, box: SecretBox, *, engine: DiscoveryEngine | None = None
) -> Scheduler:
    engine = engine or DiscoveryEngine(max_in_flight=settings.aws_max_concurrency)
    return Scheduler(
        database=database, services=RunServices(engine=engine, box=box, settings=settings)
    )


@contextmanager
def embedded(app: FastAPI) -> Iterator[Scheduler]:
    """The scheduler inside the API process (`onboarder serve` in embedded mode, the demo)."""
    state = app.state
    scheduler = build(state.settings, state.db, state.secret_box, engine=state.discovery)
    scheduler.start()
    # Run-now in this process starts at once instead of at the next poll.
    state.wake_scheduler = scheduler.wake
    try:
        yield scheduler
    finally:
        state.wake_scheduler = None
        scheduler.stop()


def run(settings: Settings, box: SecretBox) -> int:
    """`onboarder scheduler`: poll until SIGINT or SIGTERM, then stop cleanly."""
    database = Database.for_settings(settings)
    scheduler = build(settings, database, box)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        logger.info("auto-onboard scheduler stopping", extra={"signal": signum})
        stop.set()

    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, request_stop)
    scheduler.start()
    try:
        stop.wait()
    finally:
        scheduler.stop()
        database.dispose()
    return 0
