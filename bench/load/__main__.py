"""Load benchmark: many concurrent clients on the read routes of a service with a large tenant.

    python -m bench.load                          # SQLite and PostgreSQL, 16/64/256 clients
    python -m bench.load --database postgres --repeat 3
    python -m bench.load --clients 64 --routes list --seconds 30
    python -m bench.load --service-root /tmp/other-checkout    # another version of app/

The service is the real one, as its own process: `python -m app.cli serve` of the checkout
given by --service-root (this one by default), on a database made for the benchmark (SQLite in
a temporary directory, or a PostgreSQL database created and dropped), migrated with
`onboarder migrate`, with a tenant from `onboarder tenants create` and, written directly with
Core bulk inserts, 5 connections, 10,000 applications, 10 instances and one definition each.

For each number of clients and each route (the list with a random cursor walk, one
application by id, the connections), the clients send requests for --seconds, each on its
own keep-alive connection, while a separate process asks /healthz every 100 ms. Printed per
clients x route: answered (2xx) requests per second, p50/p95/p99/max latency, errors (non-2xx
answers, exceptions, timeouts), stalls (requests slower than --stall), /healthz p99 and max,
the service's peak RSS and CPU, the generator's CPU, and what the service logged (lines with
"QueuePool limit", ERROR records). With --repeat N the service is started afresh N times on
the same data and the medians are shown (errors, stalls and log lines per repetition).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from bench.load.clients import MIX, ROUTES, LoadResult, RouteFigures, percentile, run_load, settle
from bench.load.seed import Seeded, seed
from bench.load.service import (
    DEFAULT_ADMIN_URL,
    STOP_TIMEOUT,
    Checkout,
    LogCounts,
    LogWatch,
    ProcessProbe,
    ServiceProcess,
    Target,
    cpu_seconds,
    create_tenant,
    postgres_database,
    postgres_unreachable,
    sqlite_database,
)

THIS_CHECKOUT = Path(__file__).resolve().parents[2]
# The goals, checked on what was run.
GOAL_CLIENTS_CLEAN = 256
GOAL_LIST_CLIENTS = 64
GOAL_LIST_P99_MS = 50.0


@dataclass
class Phase:
    """One clients x route run of one repetition."""

    clients: int
    route: str
    load: LoadResult
    rss_mb: float
    service_cpu: float
    log: LogCounts
    settled: float  # seconds the service took to answer /healthz promptly before the phase


@dataclass
class Result:
    target: Target
    seeded: Seeded
    repetitions: list[list[Phase]]
    startup_rss_mb: list[float]
    whole_logs: list[LogCounts]  # each service process's whole log, between phases included


# ------------------------------------------------------------------------------ running
def _stall_count(latencies: Sequence[float], stall: float) -> int:
    return sum(1 for latency in latencies if latency > stall)


def _progress(label: str, phase: Phase, stall: float) -> str:
    load = phase.load
    parts = []
    for route, figures in sorted(load.routes.items()):
        parts.append(
            f"{route} {figures.ok_in_window / load.seconds:.0f} ok/s "
            f"p50 {percentile(figures.latencies, 0.5) * 1000:.0f} "
            f"p99 {percentile(figures.latencies, 0.99) * 1000:.0f} "
            f"max {max(figures.latencies, default=0) * 1000:.0f} ms, "
            f"errors {figures.errors}, stalls {_stall_count(figures.latencies, stall)}"
        )
    settled = f"; {phase.settled:.1f} s to settle before" if phase.settled > 1 else ""
    return (
        f"  {label} {phase.clients:>3} clients {phase.route}: {'; '.join(parts)}; "
        f"unfinished {load.unfinished}; healthz max {max(load.healthz, default=0) * 1000:.0f} ms; "
        f"RSS {phase.rss_mb:.0f} MB; QueuePool lines {phase.log.queuepool}{settled}"
    )


def run_target(
    target: Target,
    checkout: Checkout,
    args: argparse.Namespace,
    logs: Path,
) -> Result:
    """Migrate, seed, then per repetition a fresh service process and every phase."""
    checkout.cli(target, "migrate")
    tenant = create_tenant(checkout, target, "bench-load")
    seeded = seed(
        target.url,
        tenant_id=tenant.id,
        connections=args.connections,
        applications=args.applications,
        instances=args.instances_per_app,
    )
    print(
        f"{target.name} {target.version}: seeded {len(seeded.application_ids)} applications, "
        f"{seeded.instances} instances, {len(seeded.connection_ids)} connections in "
        f"{seeded.seconds:.1f} s",
        flush=True,
    )
    repetitions: list[list[Phase]] = []
    startup: list[float] = []
    whole_logs: list[LogCounts] = []
    for repetition in range(1, args.repeat + 1):
        log_path = logs / f"service-{target.name.lower()}-{repetition}.log"
        label = f"[{target.name} {repetition}/{args.repeat}]"
        phases: list[Phase] = []
        with ServiceProcess(checkout, target, log_path=log_path, log_level=args.log_level) as svc:
            svc.wait_ready()
            probe = ProcessProbe(svc.pid)
            try:
                if args.warmup > 0:
                    run_load(
                        base_url=svc.url,
                        api_key=tenant.api_key,
                        route=MIX,
                        clients=8,
                        seconds=args.warmup,
                        timeout=args.timeout,
                        application_ids=seeded.application_ids,
                        seed=repetition * 7919,
                        probe=False,
                    )
                startup.append(probe.take())
                watch = LogWatch(log_path)
                for clients in args.clients:
                    for route in args.routes:
                        settled = settle(svc.url, limit=args.settle)
                        watch.take()
                        probe.take()
                        cpu = cpu_seconds(svc.pid)
                        load = run_load(
                            base_url=svc.url,
                            api_key=tenant.api_key,
                            route=route,
                            clients=clients,
                            seconds=args.seconds,
                            timeout=args.timeout,
                            application_ids=seeded.application_ids,
                            seed=repetition * 1000 + clients,
                        )
                        phase = Phase(
                            clients=clients,
                            route=route,
                            load=load,
                            rss_mb=probe.take(),
                            service_cpu=cpu_seconds(svc.pid) - cpu,
                            log=watch.take(),
                            settled=settled,
                        )
                        phases.append(phase)
                        print(_progress(label, phase, args.stall), flush=True)
            finally:
                probe.close()
        # uvicorn re-raises the SIGTERM it stopped on: -15 is a clean stop.
        if svc.process.returncode == -signal.SIGKILL:
            print(f"  {label} not stopped {STOP_TIMEOUT:g} s after SIGTERM: killed", flush=True)
        elif svc.process.returncode not in (0, -signal.SIGTERM, None):
            print(f"  {label} the service exited with {svc.process.returncode}", flush=True)
        repetitions.append(phases)
        whole_logs.append(LogWatch(log_path, offset=0).take())
    return Result(target, seeded, repetitions, startup, whole_logs)


# ------------------------------------------------------------------------------ report
@dataclass(frozen=True)
class Row:
    """The figures of one clients x route of one repetition."""

    ok_per_s: float
    p50: float
    p95: float
    p99: float
    max: float
    requests: int
    errors: int
    stalls: int
    healthz_p99: float
    healthz_max: float
    healthz_failures: int
    rss_mb: float
    service_cpu: float  # percent of one core
    generator_cpu: float
    queuepool: int
    log_errors: int
    tracebacks: int
    failures: Counter[str]
    settled: float


def _row(phase: Phase, figures: RouteFigures, stall: float) -> Row:
    load = phase.load
    ms = [latency * 1000 for latency in figures.latencies]
    return Row(
        ok_per_s=figures.ok_in_window / load.seconds,
        p50=percentile(ms, 0.5),
        p95=percentile(ms, 0.95),
        p99=percentile(ms, 0.99),
        max=max(ms, default=0.0),
        requests=figures.requests,
        errors=figures.errors,
        stalls=_stall_count(figures.latencies, stall),
        healthz_p99=percentile(load.healthz, 0.99) * 1000,
        healthz_max=max(load.healthz, default=0.0) * 1000,
        healthz_failures=sum(load.healthz_failures.values()),
        rss_mb=phase.rss_mb,
        service_cpu=phase.service_cpu / load.wall * 100,
        generator_cpu=load.generator_cpu / load.wall * 100,
        queuepool=phase.log.queuepool,
        log_errors=phase.log.errors,
        tracebacks=phase.log.tracebacks,
        failures=Counter(figures.failures),
        settled=phase.settled,
    )


def rows_of(result: Result, stall: float) -> dict[tuple[int, str], list[Row]]:
    """clients x route (for mix, each route apart) -> one Row per repetition."""
    table: dict[tuple[int, str], list[Row]] = {}
    for phases in result.repetitions:
        for phase in phases:
            routes = ROUTES if phase.route == MIX else (phase.route,)
            for route in routes:
                label = route if phase.route != MIX else f"mix:{route}"
                figures = phase.load.routes.get(route, RouteFigures())
                table.setdefault((phase.clients, label), []).append(_row(phase, figures, stall))
    return table


def _median(rows: list[Row], value: Callable[[Row], float], fmt: str = ".0f") -> str:
    return format(statistics.median(value(row) for row in rows), fmt)


def _each(rows: list[Row], value: Callable[[Row], int]) -> str:
    return "/".join(str(value(row)) for row in rows)


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [row[0].rjust(widths[0]), row[1].ljust(widths[1])] + [
            cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)
        ]
        print("  " + "  ".join(cells))


def report(result: Result, args: argparse.Namespace) -> list[str]:
    """Print one database's figures; return the goals it missed."""
    reps = len(result.repetitions)
    summary = f"medians of {reps} repetitions" if reps > 1 else "one repetition"
    print(
        f"\n{result.target.name} {result.target.version}: {len(result.seeded.application_ids)} "
        f"applications, {result.seeded.instances} instances; {args.seconds:g} s per phase; "
        f"{summary}; latencies in ms; stall = slower than {args.stall:g} s"
    )
    if reps > 1:
        print(
            "  errors, stalls and the service log's lines (QueuePool limit, ERROR, Traceback): "
            "one figure per repetition, separated by /"
        )
    table = rows_of(result, args.stall)
    header = (
        "clients",
        "route",
        "ok/s",
        "p50",
        "p95",
        "p99",
        "max",
        "errors",
        "stalls",
        "healthz p99",
        "healthz max",
        "RSS MB",
        "svc CPU%",
        "gen CPU%",
        "QueuePool",
        "ERROR",
        "Traceback",
    )
    lines: list[tuple[str, ...]] = [header]
    for (clients, route), rows in table.items():
        lines.append(
            (
                str(clients),
                route,
                _median(rows, lambda r: r.ok_per_s),
                _median(rows, lambda r: r.p50, ".1f"),
                _median(rows, lambda r: r.p95, ".1f"),
                _median(rows, lambda r: r.p99, ".1f"),
                _median(rows, lambda r: r.max),
                _each(rows, lambda r: r.errors),
                _each(rows, lambda r: r.stalls),
                _median(rows, lambda r: r.healthz_p99, ".1f"),
                _median(rows, lambda r: r.healthz_max),
                _median(rows, lambda r: r.rss_mb),
                _median(rows, lambda r: r.service_cpu),
                _median(rows, lambda r: r.generator_cpu),
                _each(rows, lambda r: r.queuepool),
                _each(rows, lambda r: r.log_errors),
                _each(rows, lambda r: r.tracebacks),
            )
        )
    _table(lines)
    print(
        f"  service RSS after warm-up: {statistics.median(result.startup_rss_mb):.0f} MB; "
        f"peak over the whole run: {max(r.rss_mb for rows in table.values() for r in rows):.0f} MB"
    )
    logs = result.whole_logs
    print(
        "  the whole service log (phases, the backlog served between them, the stop): "
        f"QueuePool limit {'/'.join(str(log.queuepool) for log in logs)}, "
        f"ERROR {'/'.join(str(log.errors) for log in logs)}, "
        f"Traceback {'/'.join(str(log.tracebacks) for log in logs)}"
    )
    failed = [
        (key, sum((row.failures for row in rows), Counter[str]()))
        for key, rows in table.items()
        if any(row.failures for row in rows)
    ]
    if failed:
        print("  errors by kind (all repetitions together):")
        for (clients, route), kinds in failed:
            listed = ", ".join(f"{kind} x{count}" for kind, count in kinds.most_common())
            print(f"    {clients} {route}: {listed}")
    healthz_failed = {
        key: sum(row.healthz_failures for row in rows)
        for key, rows in table.items()
        if any(row.healthz_failures for row in rows)
    }
    for (clients, route), count in healthz_failed.items():
        print(f"  /healthz failed {count} times during {clients} {route}")
    for (clients, route), rows in table.items():
        if any(row.settled > 1 for row in rows):
            waits = "/".join(f"{row.settled:.0f}" for row in rows)
            print(
                f"  before {clients} {route}, the service took {waits} s to answer /healthz "
                f"promptly again (at most --settle {args.settle:g} s: beyond it, the previous "
                "phase's backlog was still being served)"
            )
    return goals(result, table)


def goals(result: Result, table: dict[tuple[int, str], list[Row]]) -> list[str]:
    """The issue's goals, on the phases that were run: print each, return the missed."""
    missed: list[str] = []
    checks: list[tuple[str, bool]] = []
    clean = [(key, rows) for key, rows in table.items() if key[0] == GOAL_CLIENTS_CLEAN]
    if clean:
        errors = sum(row.errors for _, rows in clean for row in rows)
        stalls = sum(row.stalls for _, rows in clean for row in rows)
        queuepool = sum(row.queuepool for _, rows in clean for row in rows)
        checks.append(
            (
                f"{GOAL_CLIENTS_CLEAN} clients: no errors ({errors}) and no stalls ({stalls})",
                errors == 0 and stalls == 0,
            )
        )
        checks.append(
            (f"{GOAL_CLIENTS_CLEAN} clients: no QueuePool limit line ({queuepool})", queuepool == 0)
        )
    listed = table.get((GOAL_LIST_CLIENTS, "list"))
    if listed and result.target.name == "PostgreSQL":
        p99 = statistics.median(row.p99 for row in listed)
        checks.append(
            (
                f"list p99 at {GOAL_LIST_CLIENTS} clients under {GOAL_LIST_P99_MS:g} ms "
                f"({p99:.1f} ms)",
                p99 < GOAL_LIST_P99_MS,
            )
        )
    for text, met in checks:
        print(f"  goal: {text}: {'met' if met else 'NOT MET'}")
        if not met:
            missed.append(f"{result.target.name}: {text}")
    return missed


# ------------------------------------------------------------------------------ main
@contextmanager
def _target(name: str, admin_url: str) -> Iterator[Target]:
    if name == "sqlite":
        with sqlite_database() as target:
            yield target
    else:
        with postgres_database(admin_url) as target:
            yield target


def _interrupted(_signum: int, _frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C (which asyncio's runner knows how to stop the clients on),
    # so that the service is stopped and the database dropped.
    raise KeyboardInterrupt


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _routes(text: str) -> list[str]:
    routes = [part.strip() for part in text.split(",") if part.strip()]
    for route in routes:
        if route not in (*ROUTES, MIX):
            raise argparse.ArgumentTypeError(f"unknown route {route!r}")
    return routes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_ADMIN_URL,
        help="a PostgreSQL server to create the benchmark's database on (and drop it from)",
    )
    parser.add_argument("--clients", type=_numbers, default=[16, 64, 256], help="e.g. 16,64,256")
    parser.add_argument(
        "--routes",
        type=_routes,
        default=list(ROUTES),
        help=f"comma-separated, from {', '.join((*ROUTES, MIX))}; mix sends all three at random",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per clients x route")
    parser.add_argument("--repeat", type=int, default=1, help="fresh service processes; medians")
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--instances-per-app", type=int, default=10)
    parser.add_argument("--connections", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=60.0, help="client timeout, seconds")
    parser.add_argument("--stall", type=float, default=1.0, help="a request slower is a stall")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of 8 clients first")
    parser.add_argument(
        "--settle",
        type=float,
        default=60.0,
        help="longest wait, between phases, for /healthz to answer within 0.2 s again",
    )
    parser.add_argument(
        "--service-root",
        type=Path,
        default=THIS_CHECKOUT,
        help="the checkout whose app/ is served (default: this one)",
    )
    parser.add_argument("--python", default=sys.executable, help="runs the service")
    parser.add_argument("--log-level", default="INFO", help="the service's ONBOARDER_LOG_LEVEL")
    parser.add_argument("--keep-logs", type=Path, help="write the service's logs here")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args()
    if args.repeat < 1 or args.connections < 1 or not args.clients or not args.routes:
        parser.error("--repeat, --connections, --clients and --routes need at least one")
    signal.signal(signal.SIGTERM, _interrupted)

    checkout = Checkout(args.service_root.resolve(), args.python)
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    if "postgres" in databases:
        why = postgres_unreachable(args.postgres_url)
        if why:
            print(f"PostgreSQL skipped: {args.postgres_url} unreachable ({why})")
            databases.remove("postgres")
    print(f"service: {checkout.describe()}; app/ imported from {checkout.app_location()}")
    print(
        f"clients {','.join(map(str, args.clients))}; routes {','.join(args.routes)}; "
        f"{args.seconds:g} s each; {args.repeat} repetition(s); log level {args.log_level}; "
        f"machine: {_cpus()} CPUs",
        flush=True,
    )
    missed: list[str] = []
    started = time.perf_counter()
    with ExitStack() as stack:
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            logs = args.keep_logs
        else:
            logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-load-")))
        for name in databases:
            with _target(name, args.postgres_url) as target:
                result = run_target(target, checkout, args, logs)
            missed += report(result, args)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if missed and args.check:
        raise SystemExit(1)


def _cpus() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("\ninterrupted: the service is stopped and the benchmark's database dropped")
        raise SystemExit(130) from None
