"""The auto-onboard scheduler: APScheduler wired to `app.schedules.runs`.

One `Scheduler` polls the database every `scheduler_poll_seconds` (fails dead runs, claims due
occurrences, takes queued runs) and keeps a heartbeat on the runs it executes. It keeps no
schedule in memory: a schedule saved, changed or disabled through any API process is read on
the next poll, and any number of schedulers can run side by side, since every claim is decided
by the database.

While the database does not answer, each poll and heartbeat logs one line and tries again
next time; a run that ends meanwhile keeps its result here until the database takes it. A
stopping scheduler gives its runs a grace period, interrupts the rest, and is gone within the
grace period plus `STOP_WRITE_SECONDS`, whatever AWS and the database do.

It runs inside `onboarder serve` in embedded mode (`embedded`), or as its own process
(`onboarder scheduler`, `run`) beside stateless API processes in production.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from fastapi import FastAPI
from prometheus_client import start_http_server

from app.core.config import Mode, Settings
from app.core.db import Database, DatabaseWatch, database_unreachable
from app.core.observability import Metrics
from app.core.security import SecretBox
from app.integrations.aws.discovery import DiscoveryEngine
from app.models.base import utcnow
from app.schedules import runs
from app.schedules.runs import Clock, RunServices
from app.webhooks.delivery import Deliverer, DeliveryMetrics
from scheduler.ingest import TriggerWorker

logger = logging.getLogger(__name__)

# After the grace period, the last writes (results held, runs interrupted) get this long, so a
# stopping scheduler ends on time even when the database does not answer.
STOP_WRITE_SECONDS = 5.0


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
        metrics: Metrics | None = None,
    ) -> None:
        settings = services.settings
        self.database = database
        self.services = services
        self.clock = clock
        self.worker = worker or worker_name()
        self.poll_seconds = settings.scheduler_poll_seconds
        self.max_runs = settings.scheduler_max_runs
        self.stop_grace_seconds = settings.scheduler_stop_grace_seconds
        self.stale_after = timedelta(seconds=settings.run_timeout_seconds)
        self._heartbeat_seconds = settings.run_heartbeat_seconds
        self._lock = threading.Lock()
        self._running: dict[uuid.UUID, threading.Thread] = {}
        # Results of runs that ended while the database did not answer: written at every poll
        # and heartbeat until it does, and kept alive by the heartbeat meanwhile.
        self._unrecorded: dict[uuid.UUID, runs.RunOutcome] = {}
        self._recording = threading.Lock()  # one writer of held results at a time
        # One line when the database goes away, one when it answers again, whichever of the
        # poll, the heartbeat and the delivery loop finds it so.
        self.watch = DatabaseWatch(
            "auto-onboard scheduler", extra={"worker": self.worker}, log=logger
        )
        self._stopping = threading.Event()
        # Polls never overlap (max_instances=1) and a late one is not repeated (coalesce).
        # Webhook deliveries: claimed and attempted on threads of their own, beside the runs.
        hooks = DeliveryMetrics()
        if metrics is not None:
            hooks = DeliveryMetrics(
                attempted=lambda outcome: metrics.webhook_attempts.labels(outcome).inc(),
                oldest_pending=metrics.webhook_oldest_pending.set,
                oldest_due=metrics.webhook_oldest_due.set,
            )
        self.deliverer = Deliverer(
            database=database,
            box=services.box,
            worker=self.worker,
            production=settings.mode is Mode.PRODUCTION,
            timeout_seconds=settings.webhook_timeout_seconds,
            threads=settings.webhook_delivery_threads,
            per_endpoint=settings.webhook_per_endpoint_in_flight,
            poll_seconds=settings.webhook_poll_seconds,
            clock=clock,
            metrics=hooks,
            watch=self.watch,
        )
        # Real-time updates: change-event triggers, synced on threads of their own.
        self.triggers = TriggerWorker(
            database=database, services=services, worker=self.worker, clock=clock, watch=self.watch
        )
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
        self.deliverer.start()
        self.triggers.start()
        logger.info(
            "auto-onboard scheduler started",
            extra={"worker": self.worker, "poll_seconds": self.poll_seconds},
        )

    def stop(self, *, grace_seconds: float | None = None) -> None:
        """Claim nothing more, give the runs under way the grace period to end, then fail the
        rest as run_interrupted in one write.

        Returns within the grace period plus `STOP_WRITE_SECONDS`, whatever AWS and the
        database do: run threads still waiting on AWS are left behind (they are daemons, and
        their results can no longer overwrite the interrupted runs).
        """
        grace = self.stop_grace_seconds if grace_seconds is None else grace_seconds
        # Attempts under way end by themselves (an unrecorded one is attempted again later).
        self.deliverer.stop()
        self.triggers.stop()
        # Polls from now on only write held results; runs that end write theirs without
        # waiting for the database (what they cannot write is held, and written below).
        self._stopping.set()
        deadline = time.monotonic() + grace
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._aps.running:
            self._aps.shutdown(wait=False)  # a poll stuck on the database is not waited for
        last = threading.Thread(target=self._last_writes, name="scheduler-stop", daemon=True)
        last.start()
        last.join(timeout=STOP_WRITE_SECONDS)
        if last.is_alive():
            logger.warning(
                "auto-onboard scheduler stopped without its last writes: the database did not "
                "answer within %s s; its runs left running are failed as run_abandoned after "
                "ONBOARDER_RUN_TIMEOUT_SECONDS",
                STOP_WRITE_SECONDS,
                extra={"worker": self.worker},
            )

    def _last_writes(self) -> None:
        interrupted = 0
        try:
            self._record_held()
            with self._lock:
                left = [run_id for run_id in self._running if run_id not in self._unrecorded]
            interrupted = runs.interrupt(
                self.database, run_ids=left, worker=self.worker, now=self.clock()
            )
        except Exception as exc:
            self._failed(
                "stop",
                exc,
                then="its runs left running are failed as run_abandoned after the run timeout",
            )
        with self._lock:
            unrecorded = len(self._unrecorded)
        logger.info(
            "auto-onboard scheduler stopped",
            extra={"worker": self.worker, "interrupted": interrupted, "unrecorded": unrecorded},
        )

    def wake(self) -> None:
        """Poll now rather than at the next interval (a run was just asked for)."""
        if not self._stopping.is_set():
            self._aps.modify_job("poll", next_run_time=datetime.now(UTC))

    def running(self) -> list[uuid.UUID]:
        """The runs this process has taken and not finished."""
        with self._lock:
            return list(self._running)

    def unrecorded(self) -> list[uuid.UUID]:
        """The runs that ended here and whose result the database has not taken yet."""
        with self._lock:
            return list(self._unrecorded)

    # ------------------------------------------------------------------ jobs
    def poll(self) -> None:
        began = time.monotonic()
        try:
            self._poll()
        except Exception as exc:
            self._failed("poll", exc, began=began, ended=time.monotonic())
        else:
            self._reached(began)

    def _poll(self) -> None:
        self._record_held()
        if self._stopping.is_set():
            return
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
            runs.execute(
                self.database,
                self.services,
                run_id,
                worker=self.worker,
                clock=self.clock,
                give_up=self._stopping,
            )
        except runs.ResultNotRecorded as held:
            with self._lock:
                self._unrecorded[run_id] = held.outcome
            logger.warning(
                "auto-onboard run result held until the database answers; written at the "
                "next poll that reaches it",
                extra={"run_id": str(run_id), "status": held.outcome.status},
            )
        except Exception:
            logger.exception(
                "auto-onboard run ended without a result", extra={"run_id": str(run_id)}
            )
        finally:
            with self._lock:
                self._running.pop(run_id, None)

    def _record_held(self) -> None:
        """Write the results held; raises, leaving the rest held, if the database is away."""
        with self._recording:
            with self._lock:
                held = list(self._unrecorded.values())
            for outcome in held:
                try:
                    runs.record(self.database, outcome)
                except Exception as exc:
                    if database_unreachable(exc):
                        raise
                    logger.exception(
                        "auto-onboard run result could not be written; it is dropped",
                        extra={"run_id": str(outcome.run_id)},
                    )
                with self._lock:
                    self._unrecorded.pop(outcome.run_id, None)

    def beat(self) -> None:
        with self._lock:
            alive = [*self._running, *self._unrecorded]
        if not alive:
            return
        began = time.monotonic()
        try:
            self._record_held()
            runs.heartbeat(
                self.database,
                run_ids=[*self.running(), *self.unrecorded()],
                worker=self.worker,
                now=self.clock(),
            )
        except Exception as exc:
            self._failed("heartbeat", exc, began=began, ended=time.monotonic())
        else:
            self._reached(began)

    # ------------------------------------------------------------------ the database away
    def _failed(
        self,
        job: str,
        exc: Exception,
        *,
        then: str | None = None,
        began: float | None = None,
        ended: float | None = None,
    ) -> None:
        self.watch.failed(job, exc, then=then, began=began, ended=ended)

    def _reached(self, began: float) -> None:
        self.watch.reached(began)


def build(
    settings: Settings,
    database: Database,
    box: SecretBox,
    *,
    engine: DiscoveryEngine | None = None,
    metrics: Metrics | None = None,
) -> Scheduler:
    engine = engine or DiscoveryEngine(max_in_flight=settings.aws_max_concurrency)
    return Scheduler(
        database=database,
        services=RunServices(engine=engine, box=box, settings=settings),
        metrics=metrics,
    )


@contextmanager
def embedded(app: FastAPI) -> Iterator[Scheduler]:
    """The scheduler inside the API process (`onboarder serve` in embedded mode, the demo)."""
    state = app.state
    scheduler = build(
        state.settings,
        state.db,
        state.secret_box,
        engine=state.discovery,
        metrics=state.metrics,
    )
    scheduler.start()
    # Run-now in this process starts at once instead of at the next poll.
    state.wake_scheduler = scheduler.wake
    try:
        yield scheduler
    finally:
        state.wake_scheduler = None
        scheduler.stop()


def run(settings: Settings, box: SecretBox) -> int:
    """`onboarder scheduler`: poll until SIGINT or SIGTERM, then stop within the grace period
    plus `STOP_WRITE_SECONDS`."""
    database = Database.for_settings(settings)
    metrics = Metrics()
    if settings.scheduler_metrics_port is not None:
        start_http_server(settings.scheduler_metrics_port, registry=metrics.registry)
    scheduler = build(settings, database, box, metrics=metrics)
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
    _exit_without_waiting_for_aws()
    return 0


def _exit_without_waiting_for_aws() -> None:
    """End the process here, once everything worth writing is written.

    The interpreter's own exit joins every thread-pool thread, those of interrupted runs still
    waiting on AWS (SDK calls run in thread pools) and a poll waiting on a database that does
    not answer among them: it would hold the process for minutes after `stop` returned.
    """
    others = [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and thread.is_alive()
    ]
    if others:
        logger.info(
            "auto-onboard scheduler exits without waiting for its threads",
            extra={"threads": len(others)},
        )
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
