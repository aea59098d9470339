"""The load: N virtual clients, each one keep-alive HTTP/1.1 connection sending its next
request as soon as the previous one is answered (a closed loop), for a bounded time.

Routes:
- list: GET /api/v1/applications?limit=50; after a page, the client follows its next_cursor
  with probability `FOLLOW` (a random walk a few pages deep), otherwise starts again.
- get: GET /api/v1/applications/{id}, a random application.
- connections: GET /api/v1/connections.
- mix: each request one of the three at random.

Every request's latency counts, answered or failed: a 500 after a 30 s pool timeout is 30 s
of waiting for whoever sent it. Beside the clients, a probe in its own process asks /healthz
every 100 ms, one request at a time, to show how long the service leaves a liveness check
waiting under that load.
"""

from __future__ import annotations

import asyncio
import functools
import math
import multiprocessing
import random
import ssl
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from typing import Any

import httpx

API = "/api/v1"
ROUTES = ("list", "get", "connections")
MIX = "mix"
PAGE = 50
FOLLOW = 0.5  # chance that a list client asks for the next page rather than the first
HEALTHZ_INTERVAL = 0.1
# After the time is up, how long clients get to finish what is in flight beyond their own
# timeout before they are cancelled (and their request counted as unfinished).
GRACE = 5.0


@dataclass
class RouteFigures:
    latencies: list[float] = field(default_factory=list)  # seconds, every finished request
    ok_in_window: int = 0  # 2xx answered before the time was up
    failures: Counter[str] = field(default_factory=Counter)  # status code or exception name

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    def merge(self, other: RouteFigures) -> None:
        self.latencies.extend(other.latencies)
        self.ok_in_window += other.ok_in_window
        self.failures.update(other.failures)


@dataclass
class LoadResult:
    seconds: float  # the time clients were sending
    wall: float  # until the last client had its last answer (or was cancelled)
    routes: dict[str, RouteFigures]
    unfinished: int  # requests still in flight when the clients were cancelled
    healthz: list[float]
    healthz_failures: Counter[str]
    generator_cpu: float  # CPU seconds of this process (the load generator) during the run


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (0 when there are no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


# ------------------------------------------------------------------------------ clients
@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client: each httpx client would otherwise load the CA bundle
    (about 50 ms of CPU: 12 s for 256 clients, taken from the service as the phase starts),
    for a plain HTTP service."""
    return ssl.create_default_context()


class Requests:
    """What one virtual client asks next, per route; list clients keep their cursor."""

    def __init__(self, route: str, application_ids: Sequence[uuid.UUID], seed: int) -> None:
        self.route = route
        self.ids = [str(i) for i in application_ids]
        self.random = random.Random(seed)
        self.cursor: str | None = None

    def next(self) -> tuple[str, str, dict[str, Any]]:
        route = self.route if self.route != MIX else self.random.choice(ROUTES)
        if route == "list":
            params: dict[str, Any] = {"limit": PAGE}
            if self.cursor:
                params["cursor"] = self.cursor
            return route, f"{API}/applications", params
        if route == "get":
            return route, f"{API}/applications/{self.random.choice(self.ids)}", {}
        return route, f"{API}/connections", {}

    def answered(self, route: str, response: httpx.Response) -> None:
        if route != "list":
            return
        self.cursor = None
        # Read the page (50 applications) only when the walk goes on.
        if response.status_code == 200 and self.random.random() < FOLLOW:
            self.cursor = response.json().get("next_cursor")


async def _client(
    *,
    base_url: str,
    headers: dict[str, str],
    requests: Requests,
    stop_at: float,
    timeout: float,
    figures: dict[str, RouteFigures],
    in_flight: list[int],
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=timeout, limits=limits, verify=_tls()
    ) as client:
        while time.perf_counter() < stop_at:
            route, path, params = requests.next()
            figure = figures.setdefault(route, RouteFigures())
            in_flight[0] += 1
            started = time.perf_counter()
            try:
                response = await client.get(path, params=params)
            except httpx.TimeoutException:
                figure.failures["timeout"] += 1
                figure.latencies.append(time.perf_counter() - started)
                continue
            except httpx.HTTPError as exc:
                figure.failures[type(exc).__name__] += 1
                figure.latencies.append(time.perf_counter() - started)
                continue
            except asyncio.CancelledError:
                figure.failures["unfinished"] += 1
                raise
            finally:
                in_flight[0] -= 1
            ended = time.perf_counter()
            figure.latencies.append(ended - started)
            if 200 <= response.status_code < 300:
                if ended <= stop_at:
                    figure.ok_in_window += 1
            else:
                figure.failures[str(response.status_code)] += 1
            requests.answered(route, response)


async def _load(
    *,
    base_url: str,
    headers: dict[str, str],
    route: str,
    clients: int,
    seconds: float,
    timeout: float,
    application_ids: Sequence[uuid.UUID],
    seed: int,
) -> tuple[float, float, dict[str, RouteFigures], int]:
    figures = [dict[str, RouteFigures]() for _ in range(clients)]
    in_flight = [0]
    started = time.perf_counter()
    stop_at = started + seconds
    tasks = [
        asyncio.create_task(
            _client(
                base_url=base_url,
                headers=headers,
                requests=Requests(route, application_ids, seed * 100_003 + index),
                stop_at=stop_at,
                timeout=timeout,
                figures=figures[index],
                in_flight=in_flight,
            )
        )
        for index in range(clients)
    ]
    _, pending = await asyncio.wait(tasks, timeout=seconds + timeout + GRACE)
    unfinished = in_flight[0]
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    wall = time.perf_counter() - started
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise RuntimeError("a load client failed") from task.exception()
    merged: dict[str, RouteFigures] = {}
    for client in figures:
        for name, figure in client.items():
            merged.setdefault(name, RouteFigures()).merge(figure)
    return seconds, wall, merged, unfinished


def _runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.Runner()
    # The generator shares two cores with the service: the cheaper its event loop, the less
    # of the machine it takes from what it measures.
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def run_load(
    *,
    base_url: str,
    api_key: str,
    route: str,
    clients: int,
    seconds: float,
    timeout: float,
    application_ids: Sequence[uuid.UUID],
    seed: int = 1,
    probe: bool = True,
) -> LoadResult:
    """`clients` virtual clients on `route` for `seconds`, with the /healthz probe beside."""
    headers = {"Authorization": f"Bearer {api_key}"}
    healthz = HealthzProbe(base_url, timeout=timeout) if probe else None
    cpu = time.process_time()
    try:
        with _runner() as runner:
            sent, wall, routes, unfinished = runner.run(
                _load(
                    base_url=base_url,
                    headers=headers,
                    route=route,
                    clients=clients,
                    seconds=seconds,
                    timeout=timeout,
                    application_ids=application_ids,
                    seed=seed,
                )
            )
    finally:
        cpu = time.process_time() - cpu
        latencies, failures = healthz.stop() if healthz else ([], Counter[str]())
    return LoadResult(
        seconds=sent,
        wall=wall,
        routes=routes,
        unfinished=unfinished,
        healthz=latencies,
        healthz_failures=failures,
        generator_cpu=cpu,
    )


# ------------------------------------------------------------------------------ /healthz
def _probe_loop(base_url: str, timeout: float, pipe: Pipe) -> None:
    """In the probe's process: GET /healthz every HEALTHZ_INTERVAL until told to stop."""
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    with httpx.Client(base_url=base_url, timeout=timeout, verify=_tls()) as client:
        pipe.send("ready")
        while not pipe.poll():
            started = time.perf_counter()
            try:
                response = client.get("/healthz")
                if response.status_code != 200:
                    failures[str(response.status_code)] += 1
            except httpx.TimeoutException:
                failures["timeout"] += 1
            except httpx.HTTPError as exc:
                failures[type(exc).__name__] += 1
            elapsed = time.perf_counter() - started
            latencies.append(elapsed)
            time.sleep(max(0.0, HEALTHZ_INTERVAL - elapsed))
    pipe.send((latencies, dict(failures)))


class HealthzProbe:
    """The /healthz loop in a process of its own, so that the load generator's event loop
    (busy with hundreds of clients) adds nothing to what it measures."""

    def __init__(self, base_url: str, *, timeout: float) -> None:
        self.timeout = timeout
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(
            target=_probe_loop, args=(base_url, timeout, child), name="healthz", daemon=True
        )
        self._process.start()
        if not self._pipe.poll(30) or self._pipe.recv() != "ready":
            self._process.kill()
            raise RuntimeError("the /healthz probe did not start")

    def stop(self) -> tuple[list[float], Counter[str]]:
        self._pipe.send("stop")
        latencies: list[float] = []
        failures: Counter[str] = Counter()
        # It may be waiting on one /healthz: up to its timeout.
        if self._pipe.poll(self.timeout + GRACE):
            latencies, found = self._pipe.recv()
            failures.update(found)
        self._process.join(GRACE)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        return latencies, failures


def settle(base_url: str, *, quiet: float = 0.2, limit: float = 60.0) -> float:
    """Wait until /healthz answers within `quiet` s (what the previous phase left in the
    service has drained); returns how long that took."""
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=limit, verify=_tls()) as client:
        while time.perf_counter() - started < limit:
            asked = time.perf_counter()
            try:
                client.get("/healthz")
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            if time.perf_counter() - asked < quiet:
                break
            time.sleep(0.2)
    return time.perf_counter() - started
