"""What the webhooks benchmark sees of the worker from outside its code.

- `StatementWatch`: every SQL statement the engine runs, timed (lock waits included: SQLite's
  busy_timeout is spent inside the statement) and sorted by what it is in the worker's cycle
  (claim: find due, take, load; record: the attempt, the endpoint's health; oldest pending
  age), from SQLAlchemy's cursor events. The worker's functions are not touched.
- `WorkerLog`: the WARNING and ERROR records `app` logged meanwhile (a poll that failed, an
  attempt that could not be recorded: "database is locked" on SQLite would show here).
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event

CLAIM_FIND = "claim: find due (a probe per endpoint)"
CLAIM_ENDPOINTS = "claim: enabled endpoints"
CLAIM_TAKE = "claim: take (UPDATE ... RETURNING)"
CLAIM_LOAD = "claim: load endpoint and event"
RECORD = "record: the attempt (UPDATE)"
HEALTH = "record: endpoint health"
OLDEST = "gauges: oldest pending, oldest due"
RELEASE = "stop: release claims"
OTHER = "other"
KINDS = (
    CLAIM_ENDPOINTS,
    CLAIM_FIND,
    CLAIM_TAKE,
    CLAIM_LOAD,
    RECORD,
    HEALTH,
    OLDEST,
    RELEASE,
    OTHER,
)


def kind_of(statement: str) -> str:
    text = " ".join(statement.split()).lower()
    if text.startswith("select webhook_deliveries.id") and "limit" in text:
        return CLAIM_FIND
    if text.startswith("select webhook_endpoints.id, webhook_endpoints.failing_since"):
        return CLAIM_ENDPOINTS
    if "min(webhook_deliveries." in text:
        return OLDEST
    if text.startswith("update webhook_deliveries"):
        if "returning" in text:
            return CLAIM_TAKE
        if "last_attempt_at=" in text:
            return RECORD
        return RELEASE
    if text.startswith("update webhook_endpoints") or (
        text.startswith("select webhook_endpoints") and "where webhook_endpoints.id =" in text
    ):
        return HEALTH
    if text.startswith("select webhook_deliveries") and "join events" in text:
        return CLAIM_LOAD
    return OTHER


@dataclass(frozen=True)
class StatementFigures:
    count: int
    median_ms: float
    p99_ms: float
    max_ms: float
    total_s: float


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


class StatementWatch:
    """Times each statement of `engine` from before to after its cursor's execute."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._durations: dict[str, list[float]] = {}
        self._on = False
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)

    def start(self) -> None:
        with self._lock:
            self._durations = {}
            self._on = True

    def stop(self) -> dict[str, StatementFigures]:
        with self._lock:
            self._on = False
            durations = self._durations
        return {
            kind: StatementFigures(
                count=len(values),
                median_ms=statistics.median(values) * 1000,
                p99_ms=_p99(values) * 1000,
                max_ms=max(values) * 1000,
                total_s=sum(values),
            )
            for kind in KINDS
            if (values := durations.get(kind))
        }

    def _before(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        started = conn.info["bench_started"].pop()
        if not self._on:
            return
        took = time.perf_counter() - started
        kind = kind_of(statement)
        with self._lock:
            self._durations.setdefault(kind, []).append(took)


class WorkerLog(logging.Handler):
    """WARNING and above from `app`, counted by message (and the exception's first line)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            first = (str(exc).strip().splitlines() or [""])[0][:160]
            line = f"{line}: {type(exc).__name__}: {first}"
        self.lines[f"{record.levelname} {line}"] += 1

    def __enter__(self) -> WorkerLog:
        logging.getLogger("app").addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger("app").removeHandler(self)
