"""Webhook delivery benchmark: does a slow or a dead receiver delay the others?

    python -m bench.webhooks                          # 10,000 events, SQLite
    python -m bench.webhooks --repeat 3               # medians of three
    python -m bench.webhooks --events 2000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    python -m bench.webhooks --profile deliver.pstats  # the three-endpoint run under cProfile

The worker is the real one, as the scheduler process runs it: `app.webhooks.delivery.Deliverer`
with the defaults of `app.core.config.Settings` (delivery threads, in flight per endpoint,
timeout, poll interval; embedded mode, so http://127.0.0.1 is allowed), started with
`.start()` and stopped with `.stop()`, on `Database.for_settings`. Each run has a fresh database
made by the migrations: SQLite in a temporary directory, or with --database-url a database
created on that PostgreSQL server for the run and dropped after it.

The receivers are a process of their own (bench/webhooks/receiver.py): /healthy answers 200 at
once, /slow 200 after --slow-seconds, /failing 500 at once; each verifies every delivery's
signature with the `standardwebhooks` library and counts what it got.

Each repetition makes two runs:
- "healthy alone": one tenant with the healthy endpoint only;
- "3 endpoints": the same tenant with the healthy, the slow and the failing endpoint.
In each, --events events are written as the services write them (`app.events.service.emit` in
`database.session()` transactions of --batch events; each commit queues one delivery per
endpoint), then the Deliverer runs until the healthy receiver has every event (or --timeout),
sampled every second: deliveries the healthy receiver got, `oldest_pending_age`, the worker's
attempts in flight; and what the others got (the failing endpoint's first attempts and its
retries, 5 s later, then 5 min). Printed: the time to write the events (events/s), the time
until the healthy receiver had them all and its median rate per second, against a floor (every
delivery one round trip of a POST to the receiver, `per_endpoint` of them at once: events x
round trip / per_endpoint), oldest_pending_age (max, at the end, a timeline), attempts per
endpoint (the receiver's count and the database's), the slow endpoint's rate (at most
per_endpoint / slow-seconds), peak RSS and CPU of this process (the worker's) and the
receiver's, each SQL statement kind of the worker's cycle timed (claims, records), and what
`app` logged at WARNING or above. Last, the headline: the healthy endpoint's rate beside a slow
and a failing endpoint over its rate alone.

It exits 1 if a delivery to the healthy endpoint is missing (the receiver's distinct event ids
or the database's delivered rows) or any signature did not verify.
"""

from __future__ import annotations

import argparse
import math
import os
import sqlite3
import statistics
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from app.core.config import LogFormat, Mode, Settings
from app.core.db import Database, normalize_database_url
from app.core.migrations import upgrade
from app.core.security import build_secret_box
from app.events import service as events
from app.models import WebhookDelivery
from app.models.base import utcnow
from app.tenants import service as tenants
from app.webhooks import service as webhooks
from app.webhooks.delivery import RETRY_DELAYS, Deliverer, DeliveryMetrics, oldest_pending_age
from bench.auto_onboard.probes import RssSampler, ThreadProfiles
from bench.load.service import cpu_seconds
from bench.webhooks.receiver import (
    FAILING,
    HEALTHY,
    PATHS,
    PROBE,
    SLOW,
    Counts,
    ReceiverProcess,
)
from bench.webhooks.watch import KINDS, StatementFigures, StatementWatch, WorkerLog

ALONE, BESIDE = "healthy alone", "3 endpoints"
LABELS = (ALONE, BESIDE)
PROBES = 200  # POSTs timed for the round trip
SAMPLE_SECONDS = 1.0
CHECK_SECONDS = 0.1  # how often the healthy receiver's count is read between samples
TIMELINE_ROWS = 15


# ------------------------------------------------------------------------------ databases
@contextmanager
def fresh_database(server_url: str | None, directory: Path) -> Iterator[str]:
    """A new, empty database: a SQLite file in `directory`, or one created on the PostgreSQL
    server of `server_url` and dropped afterwards, whatever happened."""
    if server_url is None:
        yield f"sqlite:///{directory / f'webhooks-{uuid.uuid4().hex[:8]}.db'}"
        return
    server = normalize_database_url(server_url)
    name = f"bench_webhooks_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def describe_database(server_url: str | None) -> str:
    if server_url is None:
        return f"SQLite {sqlite3.sqlite_version} (a file in a temporary directory per run)"
    admin = create_engine(normalize_database_url(server_url))
    try:
        with admin.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one()
    finally:
        admin.dispose()
    where = make_url(normalize_database_url(server_url)).render_as_string(hide_password=True)
    return f"PostgreSQL {version} at {where} (a database created per run and dropped)"


def settings_for(url: str, data_dir: Path) -> Settings:
    """The scheduler's settings: everything at its default but the database and the key."""
    return Settings(
        mode=Mode.EMBEDDED,
        data_dir=data_dir,
        database_url=url,
        encryption_keys=[SecretStr(Fernet.generate_key().decode())],
        log_format=LogFormat.TEXT,
        auto_migrate=False,
    )


# ------------------------------------------------------------------------------ one run
@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the Deliverer started
    counts: dict[str, Counts]
    oldest_pending: float
    in_flight: int


@dataclass
class Stored:
    """One endpoint's deliveries in the database after the run."""

    statuses: Counter[str] = field(default_factory=Counter)
    by_attempts: Counter[int] = field(default_factory=Counter)  # deliveries by attempts made
    due_not_retried: int = 0  # pending after a failed attempt, the retry due at the stop
    errors: Counter[str] = field(default_factory=Counter)  # last_error of those not delivered

    @property
    def attempts(self) -> int:
        return sum(attempts * count for attempts, count in self.by_attempts.items())


@dataclass
class Run:
    label: str
    paths: tuple[str, ...]
    events: int
    per_endpoint: int
    written: int  # deliveries the events queued
    write_seconds: float
    rtt: float  # median round trip of one POST to the receiver, seconds
    samples: list[Sample]
    wall: float | None  # seconds until the healthy receiver had every event; None: timed out
    stopped_after: float
    final: dict[str, Counts]
    stored: dict[str, Stored]
    rss_before_mb: float
    peak_rss_mb: float
    cpu: float
    receiver_cpu: float
    statements: dict[str, StatementFigures]
    log: Counter[str]
    outcomes: Counter[str]

    @property
    def events_per_second(self) -> float:
        return self.events / self.write_seconds

    @property
    def healthy_done(self) -> float:
        """Seconds until the healthy receiver had every event (the timeout if it did not)."""
        return self.wall if self.wall is not None else self.stopped_after

    @property
    def healthy_rate(self) -> float:
        return self.final[HEALTHY].distinct / self.healthy_done if self.healthy_done else 0.0

    @property
    def healthy_median_rate(self) -> float:
        """The median of the healthy receiver's per-second rates, the last (partial) second
        and the seconds after it had every event left out."""
        rates = [
            (b.counts[HEALTHY].distinct - a.counts[HEALTHY].distinct) / (b.at - a.at)
            for a, b in zip(self.samples, self.samples[1:], strict=False)
            if b.at <= self.healthy_done and b.at - a.at >= SAMPLE_SECONDS * 0.5
        ]
        return statistics.median(rates) if rates else self.healthy_rate

    @property
    def floor(self) -> float:
        return self.events * self.rtt / self.per_endpoint

    @property
    def oldest_max(self) -> float:
        return max((s.oldest_pending for s in self.samples), default=0.0)

    @property
    def oldest_end(self) -> float:
        return self.samples[-1].oldest_pending if self.samples else 0.0

    @property
    def claims_per_second(self) -> float:
        found = self.statements.get(KINDS[0])
        return found.count / self.stopped_after if found and self.stopped_after else 0.0

    @property
    def claimed_per_claim(self) -> float:
        taken = self.statements.get(KINDS[1])
        attempts = sum(counts.received for counts in self.final.values())
        return attempts / taken.count if taken and taken.count else 0.0


def write_events(
    database: Database, tenant_id: uuid.UUID, count: int, batch: int
) -> tuple[float, int]:
    """`count` events in transactions of `batch`, as a service emits them; returns the
    seconds it took and the deliveries queued."""
    started = time.perf_counter()
    for first in range(0, count, batch):
        with database.session() as session:
            for index in range(first, min(first + batch, count)):
                events.emit(
                    session,
                    tenant_id=tenant_id,
                    type=events.APPLICATION_CHANGED,
                    application_id=uuid.UUID(int=index + 1),
                    data={
                        "application_id": str(uuid.UUID(int=index + 1)),
                        "change": {"kind": "definition_changed", "stage": "prod"},
                        "summary": f"Benchmark event {index}: the definition of prod changed.",
                    },
                )
    seconds = time.perf_counter() - started
    with database.session() as session:
        queued = session.scalar(select(func.count()).select_from(WebhookDelivery)) or 0
    return seconds, int(queued)


def round_trip(receiver: ReceiverProcess, timeout: float) -> float:
    """The median of PROBES POSTs of a signed delivery-sized body, one at a time, on a client
    made like the worker's."""
    body = '{"data":{"application_id":"00000000-0000-0000-0000-000000000001"},"type":"x"}'
    headers = webhooks.headers_for("probe", body, [webhooks.new_secret()], utcnow())
    took = []
    with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
        for _ in range(PROBES):
            started = time.perf_counter()
            client.post(receiver.url(PROBE), content=body.encode(), headers=headers)
            took.append(time.perf_counter() - started)
    return statistics.median(took[10:])


def read_stored(
    database: Database, paths: dict[uuid.UUID, str], now: datetime
) -> dict[str, Stored]:
    stored = {path: Stored() for path in paths.values()}
    with database.session() as session:
        rows = session.execute(
            select(
                WebhookDelivery.endpoint_id,
                WebhookDelivery.status,
                WebhookDelivery.attempts,
                func.count(),
            ).group_by(
                WebhookDelivery.endpoint_id, WebhookDelivery.status, WebhookDelivery.attempts
            )
        ).all()
        for endpoint_id, status, attempts, count in rows:
            stored[paths[endpoint_id]].statuses[status] += count
            stored[paths[endpoint_id]].by_attempts[attempts] += count
        due = session.execute(
            select(WebhookDelivery.endpoint_id, func.count())
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.attempts >= 1,
                WebhookDelivery.next_attempt_at <= now,
            )
            .group_by(WebhookDelivery.endpoint_id)
        ).all()
        for endpoint_id, count in due:
            stored[paths[endpoint_id]].due_not_retried = count
        errors = session.execute(
            select(WebhookDelivery.endpoint_id, WebhookDelivery.last_error, func.count())
            .where(WebhookDelivery.status != "delivered", WebhookDelivery.attempts >= 1)
            .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.last_error)
        ).all()
        for endpoint_id, error, count in errors:
            stored[paths[endpoint_id]].errors[str(error)[:70]] += count
    return stored


def _join_worker_threads(deadline: float) -> None:
    """Wait for the attempts under way when `stop()` returned (it does not wait for them)."""
    for thread in threading.enumerate():
        if thread.name.startswith("webhook") and thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))


def deliver(
    *,
    label: str,
    paths: tuple[str, ...],
    server_url: str | None,
    directory: Path,
    args: argparse.Namespace,
    profile: Path | None,
) -> Run:
    with (
        fresh_database(server_url, directory) as url,
        ReceiverProcess(args.slow_seconds) as receiver,
    ):
        upgrade(url)
        settings = settings_for(url, directory / "data")
        database = Database.for_settings(settings)
        box = build_secret_box(settings)
        try:
            with database.session() as session:
                tenant, _key = tenants.create_tenant(session=session, name="bench-webhooks")
                tenant_id = tenant.id
                secrets: dict[str, str] = {}
                endpoint_paths: dict[uuid.UUID, str] = {}
                for path in paths:
                    endpoint, secret = webhooks.create(
                        session,
                        tenant_id=tenant_id,
                        url=receiver.url(path),
                        event_types=None,
                        description=f"bench: {path} receiver",
                        box=box,
                        production=False,
                    )
                    secrets[path] = secret
                    endpoint_paths[endpoint.id] = path
            receiver.configure(secrets)
            write_seconds, written = write_events(database, tenant_id, args.events, args.batch)
            rtt = round_trip(receiver, settings.webhook_timeout_seconds)
            return _run_worker(
                label=label,
                paths=paths,
                settings=settings,
                database=database,
                receiver=receiver,
                endpoint_paths=endpoint_paths,
                written=written,
                write_seconds=write_seconds,
                rtt=rtt,
                args=args,
                profile=profile,
            )
        finally:
            database.dispose()


def _run_worker(
    *,
    label: str,
    paths: tuple[str, ...],
    settings: Settings,
    database: Database,
    receiver: ReceiverProcess,
    endpoint_paths: dict[uuid.UUID, str],
    written: int,
    write_seconds: float,
    rtt: float,
    args: argparse.Namespace,
    profile: Path | None,
) -> Run:
    outcomes: Counter[str] = Counter()
    counting = threading.Lock()

    def attempted(outcome: str) -> None:
        with counting:
            outcomes[outcome] += 1

    deliverer = Deliverer(
        database=database,
        box=build_secret_box(settings),
        worker=f"bench-webhooks:{os.getpid()}",
        production=settings.mode is Mode.PRODUCTION,
        timeout_seconds=settings.webhook_timeout_seconds,
        threads=settings.webhook_delivery_threads,
        per_endpoint=settings.webhook_per_endpoint_in_flight,
        poll_seconds=settings.webhook_poll_seconds,
        metrics=DeliveryMetrics(attempted=attempted),
    )
    watch = StatementWatch(database.engine)
    samples: list[Sample] = []
    wall: float | None = None
    profiles = ThreadProfiles() if profile is not None else None
    with WorkerLog() as log, RssSampler(interval=0.2) as rss:
        rss_before = rss.peak_mb
        cpu_before, receiver_before = time.process_time(), cpu_seconds(receiver.pid)
        watch.start()
        with profiles if profiles is not None else nullcontext():
            started_wall, started = time.time(), time.perf_counter()
            deliverer.start()
            next_sample = started + SAMPLE_SECONDS
            while True:
                time.sleep(
                    max(
                        0.0,
                        min(next_sample, time.perf_counter() + CHECK_SECONDS) - time.perf_counter(),
                    )
                )
                now = time.perf_counter()
                if now >= next_sample:
                    counts = receiver.counts()
                    samples.append(
                        Sample(
                            at=now - started,
                            counts=counts,
                            oldest_pending=oldest_pending_age(database, utcnow()),
                            in_flight=deliverer.in_flight(),
                        )
                    )
                    next_sample += SAMPLE_SECONDS
                else:
                    counts = receiver.counts()
                healthy = counts[HEALTHY]
                if healthy.distinct >= args.events:
                    wall = healthy.last_at - started_wall
                    break
                if now - started > args.timeout:
                    break
            stopped_after = time.perf_counter() - started
            final = receiver.counts()
            samples.append(
                Sample(
                    at=stopped_after,
                    counts=final,
                    oldest_pending=oldest_pending_age(database, utcnow()),
                    in_flight=deliverer.in_flight(),
                )
            )
            deliverer.stop()
            stopped_at = utcnow()
            _join_worker_threads(
                time.monotonic() + settings.webhook_timeout_seconds + args.slow_seconds + 5
            )
        statements = watch.stop()
        cpu = time.process_time() - cpu_before
        receiver_cpu = cpu_seconds(receiver.pid) - receiver_before
    watch.close()
    final = receiver.counts()  # the attempts under way at the stop included
    if profiles is not None and profile is not None:
        _print_profile(profiles, profile, label, stopped_after, cpu)
    return Run(
        label=label,
        paths=paths,
        events=args.events,
        per_endpoint=settings.webhook_per_endpoint_in_flight,
        written=written,
        write_seconds=write_seconds,
        rtt=rtt,
        samples=samples,
        wall=wall,
        stopped_after=stopped_after,
        final=final,
        stored=read_stored(database, endpoint_paths, stopped_at),
        rss_before_mb=rss_before,
        peak_rss_mb=rss.peak_mb,
        cpu=cpu,
        receiver_cpu=receiver_cpu,
        statements=statements,
        log=log.lines,
        outcomes=outcomes,
    )


def _print_profile(
    profiles: ThreadProfiles, path: Path, label: str, wall: float, cpu: float
) -> None:
    stats = profiles.stats()
    stats.dump_stats(path)
    print(
        f"\n{label} under cProfile (thread CPU time; {wall:.1f} s wall, {cpu:.1f} s CPU with "
        f"the profiler's own cost): stats in {path}"
    )
    stats.sort_stats("tottime").print_stats(20)
    stats.sort_stats("cumulative").print_stats(r"app/", 25)


# ------------------------------------------------------------------------------ report
def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        print("  " + "  ".join(cells).rstrip())


def report(runs: dict[str, list[Run]], args: argparse.Namespace, settings: Settings) -> None:
    reps = len(runs[ALONE])
    per_endpoint = settings.webhook_per_endpoint_in_flight
    summary = f"medians of {reps} repetitions" if reps > 1 else "one repetition"
    print(f"\nfigures ({summary}; CPU and RSS: this process, where the worker runs)")

    def row(name: str, value: Callable[[Run], float], fmt: str, only: str = "") -> tuple[str, ...]:
        cells = [name]
        for label in LABELS:
            if only and label != only:
                cells.append("-")
            else:
                cells.append(format(_median([value(run) for run in runs[label]]), fmt))
        return tuple(cells)

    def path_row(name: str, path: str, value: Callable[[Counts], float]) -> tuple[str, ...]:
        return row(name, lambda r: value(r.final[path]) if path in r.final else 0.0, ".0f")

    slow_cap = per_endpoint / args.slow_seconds
    lines: list[tuple[str, ...]] = [
        ("", *LABELS),
        row("deliveries the events queued", lambda r: r.written, ".0f"),
        row("writing the events (s)", lambda r: r.write_seconds, ".2f"),
        row("  events/s written", lambda r: r.events_per_second, ".0f"),
        row("  deliveries/s queued", lambda r: r.written / r.write_seconds, ".0f"),
        row(f"healthy: all {args.events} received after (s)", lambda r: r.healthy_done, ".2f"),
        row("healthy: deliveries/s, median of 1 s samples", lambda r: r.healthy_median_rate, ".1f"),
        row("healthy: deliveries/s overall", lambda r: r.healthy_rate, ".1f"),
        path_row("healthy: received twice (repeats)", HEALTHY, lambda c: c.repeats),
        path_row("healthy: most in flight at the receiver", HEALTHY, lambda c: c.max_in_flight),
        row("round trip of one POST, median (ms)", lambda r: r.rtt * 1000, ".2f"),
        row(f"floor: events x round trip / {per_endpoint} (s)", lambda r: r.floor, ".2f"),
        row("  wall / floor", lambda r: r.healthy_done / r.floor if r.floor else 0.0, ".0f"),
        row("oldest_pending_age, max (s)", lambda r: r.oldest_max, ".1f"),
        row("oldest_pending_age at the end (s)", lambda r: r.oldest_end, ".1f"),
        path_row("slow: received", SLOW, lambda c: c.received),
        row(
            f"slow: received/s (at most {per_endpoint} / {args.slow_seconds:g} s = {slow_cap:g})",
            lambda r: r.final[SLOW].received / r.stopped_after,
            ".2f",
            only=BESIDE,
        ),
        path_row(f"slow: most in flight (at most {per_endpoint})", SLOW, lambda c: c.max_in_flight),
        path_row("failing: first attempts", FAILING, lambda c: c.distinct),
        path_row("failing: retries", FAILING, lambda c: c.repeats),
        row(
            "failing: retries due at the stop, not made",
            lambda r: r.stored[FAILING].due_not_retried,
            ".0f",
            only=BESIDE,
        ),
        path_row("failing: most in flight", FAILING, lambda c: c.max_in_flight),
        row("claims per s", lambda r: r.claims_per_second, ".1f"),
        row("deliveries taken per claim", lambda r: r.claimed_per_claim, ".2f"),
        row("RSS before the worker started (MB)", lambda r: r.rss_before_mb, ".0f"),
        row("peak RSS while it ran (MB)", lambda r: r.peak_rss_mb, ".0f"),
        row("CPU, worker's process (s)", lambda r: r.cpu, ".1f"),
        row("  % of one core", lambda r: r.cpu / r.stopped_after * 100, ".0f"),
        row(
            "  per attempt (ms)",
            lambda r: r.cpu / max(1, sum(c.received for c in r.final.values())) * 1000,
            ".2f",
        ),
        row("CPU, receiver process (s)", lambda r: r.receiver_cpu, ".1f"),
        row("app log lines at WARNING or above", lambda r: r.log.total(), ".0f"),
    ]
    _table(lines)

    for label in LABELS:
        last = runs[label][-1]
        _report_run(last, args, per_endpoint, reps)

    alone = _median([r.healthy_median_rate for r in runs[ALONE]])
    beside = _median([r.healthy_median_rate for r in runs[BESIDE]])
    alone_all = _median([r.healthy_rate for r in runs[ALONE]])
    beside_all = _median([r.healthy_rate for r in runs[BESIDE]])
    print(
        f"\n==> healthy endpoint's rate beside a slow and a failing endpoint / alone: "
        f"{beside:.1f} / {alone:.1f} per s = {beside / alone if alone else 0:.2f} (median "
        f"per-second rates); overall {beside_all:.1f} / {alone_all:.1f} = "
        f"{beside_all / alone_all if alone_all else 0:.2f}"
    )


def _report_run(run: Run, args: argparse.Namespace, per_endpoint: int, reps: int) -> None:
    which = f" (repetition {reps} of {reps})" if reps > 1 else ""
    print(f"\n{run.label}{which}: attempts per endpoint")
    lines: list[tuple[str, ...]] = [
        (
            "endpoint",
            "received",
            "verified",
            "distinct ids",
            "db attempts",
            "db delivered",
            "db pending",
            "db failed",
            "worker's attempts by count",
        )
    ]
    for path in run.paths:
        counts, stored = run.final[path], run.stored[path]
        by_count = ", ".join(f"{n}: {c}" for n, c in sorted(stored.by_attempts.items()))
        lines.append(
            (
                path,
                str(counts.received),
                str(counts.verified),
                str(counts.distinct),
                str(stored.attempts),
                str(stored.statuses["delivered"]),
                str(stored.statuses["pending"]),
                str(stored.statuses["failed"]),
                by_count,
            )
        )
    _table(lines)
    for path in run.paths:
        for error, count in run.stored[path].errors.most_common(3):
            print(f"  {path}: last error of {count} not delivered: {error}")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(run.outcomes.items()))
    print(f"  the worker's metrics hook counted: {outcomes or 'nothing'}")

    print(f"{run.label}: the worker's SQL statements (lock waits included)")
    lines = [("statement", "count", "median ms", "p99 ms", "max ms", "total s")]
    for kind, figures in run.statements.items():
        lines.append(
            (
                kind,
                str(figures.count),
                f"{figures.median_ms:.2f}",
                f"{figures.p99_ms:.2f}",
                f"{figures.max_ms:.1f}",
                f"{figures.total_s:.2f}",
            )
        )
    _table(lines)

    print(f"{run.label}: timeline (s since start; received so far; the worker's in flight)")
    step = max(1, math.ceil(len(run.samples) / TIMELINE_ROWS))
    shown = list(range(0, len(run.samples), step))
    if run.samples and shown[-1] != len(run.samples) - 1:
        shown.append(len(run.samples) - 1)
    header: tuple[str, ...] = ("t", "healthy", "healthy/s")
    if SLOW in run.paths:
        header += ("slow", "failing 1st", "failing retries")
    lines = [(*header, "oldest pending s", "in flight")]
    for index in shown:
        sample = run.samples[index]
        healthy = sample.counts[HEALTHY].distinct
        before = run.samples[index - 1] if index else None
        if before is not None and sample.at > before.at:
            rate = (healthy - before.counts[HEALTHY].distinct) / (sample.at - before.at)
        else:
            rate = healthy / sample.at if sample.at else 0.0
        cells: tuple[str, ...] = (f"{sample.at:.1f}", str(healthy), f"{rate:.0f}")
        if SLOW in run.paths:
            failing = sample.counts[FAILING]
            cells += (
                str(sample.counts[SLOW].received),
                str(failing.distinct),
                str(failing.repeats),
            )
        lines.append((*cells, f"{sample.oldest_pending:.1f}", str(sample.in_flight)))
    _table(lines)
    if run.log:
        print(f"{run.label}: what app logged at WARNING or above")
        for line, count in run.log.most_common(8):
            print(f"  {count} x {line[:200]}")


def problems_of(runs: dict[str, list[Run]], args: argparse.Namespace) -> list[str]:
    problems = []
    for label, done in runs.items():
        for index, run in enumerate(done, 1):
            where = f"{label}, repetition {index}"
            healthy = run.final[HEALTHY]
            delivered = run.stored[HEALTHY].statuses["delivered"]
            if healthy.distinct < args.events:
                problems.append(
                    f"{where}: the healthy receiver got {healthy.distinct} of {args.events} "
                    f"events within --timeout {args.timeout:g} s"
                )
            if delivered < args.events:
                problems.append(
                    f"{where}: {delivered} of {args.events} deliveries to the healthy endpoint "
                    "are delivered in the database"
                )
            for path in run.paths:
                counts = run.final[path]
                if counts.unverified or counts.verified != counts.received:
                    problems.append(
                        f"{where}: {counts.unverified} of {counts.received} deliveries to "
                        f"/{path} did not verify ({counts.first_error})"
                    )
    return problems


def notes_of(runs: dict[str, list[Run]], args: argparse.Namespace, per_endpoint: int) -> list[str]:
    """What is not as the worker promises but does not fail the benchmark."""
    notes = []
    for label, done in runs.items():
        for index, run in enumerate(done, 1):
            for path in run.paths:
                if run.final[path].max_in_flight > per_endpoint:
                    notes.append(
                        f"{label} {index}: /{path} had {run.final[path].max_in_flight} "
                        f"deliveries in flight at once (at most {per_endpoint} promised)"
                    )
            if run.final[HEALTHY].repeats:
                notes.append(
                    f"{label} {index}: the healthy receiver got {run.final[HEALTHY].repeats} "
                    "events twice"
                )
    return notes


# ------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="fresh databases; medians shown")
    parser.add_argument("--slow-seconds", type=float, default=2.0, help="the slow receiver's wait")
    parser.add_argument("--batch", type=int, default=100, help="events per transaction")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="longest run of the worker, seconds"
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres) "
        "to create each run's database on and drop it from; SQLite files otherwise",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="run the first 3-endpoint run under cProfile (thread CPU time), its stats to FILE",
    )
    args = parser.parse_args()
    if args.events < 1 or args.repeat < 1 or args.batch < 1 or args.slow_seconds <= 0:
        parser.error("--events, --repeat, --batch and --slow-seconds must be positive")
    if args.database_url and not normalize_database_url(args.database_url).startswith("postgresql"):
        parser.error("--database-url takes a PostgreSQL server; SQLite is the default")

    defaults = settings_for("sqlite://", Path(tempfile.gettempdir()))
    retries = ", ".join(f"{delay.total_seconds():g} s" for delay in RETRY_DELAYS[:3])
    print(
        f"Deliverer as the scheduler runs it: {defaults.webhook_delivery_threads} threads, "
        f"{defaults.webhook_per_endpoint_in_flight} in flight per endpoint, "
        f"{defaults.webhook_timeout_seconds:g} s timeout, "
        f"poll {defaults.webhook_poll_seconds:g} s; "
        f"retries after {retries}...\n"
        f"{describe_database(args.database_url)}; {args.events} events in transactions of "
        f"{args.batch}; slow receiver {args.slow_seconds:g} s; {os.cpu_count()} CPUs; "
        f"{args.repeat} repetition(s)",
        flush=True,
    )
    runs: dict[str, list[Run]] = {label: [] for label in LABELS}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as directory:
        for repetition in range(1, args.repeat + 1):
            for label, paths in ((ALONE, (HEALTHY,)), (BESIDE, PATHS)):
                run = deliver(
                    label=label,
                    paths=paths,
                    server_url=args.database_url,
                    directory=Path(directory),
                    args=args,
                    profile=args.profile if repetition == 1 and label == BESIDE else None,
                )
                runs[label].append(run)
                done = f"{run.wall:.2f} s" if run.wall is not None else "NOT within --timeout"
                print(
                    f"[{repetition}/{args.repeat}] {label}: wrote {args.events} events "
                    f"({run.written} deliveries) in {run.write_seconds:.2f} s "
                    f"({run.events_per_second:.0f} events/s); the healthy receiver had them "
                    f"all after {done} (median {run.healthy_median_rate:.1f}/s), floor "
                    f"{run.floor:.2f} s",
                    flush=True,
                )
    report(runs, args, defaults)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    for note in notes_of(runs, args, defaults.webhook_per_endpoint_in_flight):
        print(f"note: {note}")
    problems = problems_of(runs, args)
    if problems:
        print("\nNOT AS EXPECTED:")
        for problem in problems:
            print(f"  {problem}")
        raise SystemExit(1)
    signatures = sum(c.verified for done in runs.values() for r in done for c in r.final.values())
    print(
        f"check: every event reached the healthy endpoint (receiver and database), and all "
        f"{signatures} deliveries received verified with standardwebhooks"
    )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted: the receiver is stopped and the benchmark's databases dropped")
        raise SystemExit(130) from None
