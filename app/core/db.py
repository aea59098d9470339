"""Engine, sessions, and how a request uses the database without stalling under load.

A request's session never holds a pooled connection while it waits for a worker thread.
FastAPI runs every sync dependency and endpoint in its own trip to the threadpool; if a
connection stayed checked out between those trips, requests holding connections would queue
for threads while the threads queue for connections (the classic stall: 40 threads, 30
connections, 30-second pool timeouts). So:

- the session is made on the event loop (`get_db_session` is async; a Session does no I/O
  until it is used), which costs no thread;
- every sync function FastAPI runs with the request's session ends its transaction before
  its thread is given back (`ends_transaction`; `DatabaseRoute` applies it to every sync
  endpoint, and the database-reading dependencies carry it): a connection is checked out and
  returned within one thread, so whoever waits for a connection waits on a thread that runs;
- the pool has a connection for every worker thread and some to spare (`Settings.db_pool_size`),
  and a checkout that still waits longer than `db_pool_timeout_seconds` is a 503
  `database_busy` with `Retry-After`, never a 30-second wait and a 500.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.core.config import Settings
from app.core.context import get_request_context

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

DEFAULT_POOL_SIZE = 10
DEFAULT_POOL_TIMEOUT_SECONDS = 5.0
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5.0


def normalize_database_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, postgresql://) and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_pragmas(busy_timeout_ms: int) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def create_db_engine(
    url: str,
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    pool_timeout: float = DEFAULT_POOL_TIMEOUT_SECONDS,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
    statement_timeout: float | None = None,
) -> Engine:
    """An engine whose pool has exactly `pool_size` connections (no overflow: the size is the
    promise made to the worker threads) and gives up waiting for one after `pool_timeout`;
    a server that does not accept a connection within `connect_timeout`, or a statement that
    runs longer than `statement_timeout` (PostgreSQL), is an error instead of a wait without
    end."""
    url = normalize_database_url(url)
    parsed = make_url(url)
    pooling: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": 0,
        "pool_timeout": pool_timeout,
    }
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        in_memory = not database or database == ":memory:" or database.startswith("file:")
        if not in_memory:
            Path(database).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            # An in-memory database lives in one connection; SQLAlchemy picks its pool.
            **({} if in_memory else pooling),
        )
        event.listen(engine, "connect", _sqlite_pragmas(int(connect_timeout * 1000)))
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args = {"connect_timeout": max(1, math.ceil(connect_timeout))}
        if statement_timeout is not None:  # none for migrations, which may take their time
            connect_args["options"] = f"-c statement_timeout={int(statement_timeout * 1000)}"
    # pre_ping: a connection the server dropped (a restart) is replaced, not handed out.
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **pooling)


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT_SECONDS,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_SECONDS,
        statement_timeout: float | None = None,
    ) -> None:
        self.engine = create_db_engine(
            url,
            pool_size=pool_size,
            pool_timeout=pool_timeout,
            connect_timeout=connect_timeout,
            statement_timeout=statement_timeout,
        )
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def for_settings(cls, settings: Settings) -> Database:
        return cls(
            settings.database_url,
            pool_size=settings.pool_size,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_timeout=settings.db_connect_timeout_seconds,
            statement_timeout=settings.db_statement_timeout_seconds,
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work outside a request (CLI, scheduler): commits on success."""
        with self.sessionmaker() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _request_session() -> Session | None:
    context = get_request_context()
    return context.db_session if context is not None else None


def ends_transaction(function: Callable[P, R]) -> Callable[P, R]:
    """Run a sync dependency or endpoint so that the request's transaction ends with it:
    committed when it returns, rolled back when it raises, its connection back in the pool
    before the worker thread is. What it wrote is then committed before the response goes out,
    so a failed commit is an error answer, never a 201 for a row that is not there."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        session = _request_session()
        try:
            result = function(*args, **kwargs)
            if session is not None and session.in_transaction():
                session.commit()
        except BaseException:
            if session is not None and session.in_transaction():
                session.rollback()
            raise
        return result

    run.ends_transaction = True  # type: ignore[attr-defined]
    return run


class DatabaseRoute(APIRoute):
    """A route whose sync endpoint ends the request's transaction in its own thread."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not (
            inspect.iscoroutinefunction(endpoint)
            or inspect.isgeneratorfunction(endpoint)
            or inspect.isasyncgenfunction(endpoint)
            or getattr(endpoint, "ends_transaction", False)
        ):
            endpoint = ends_transaction(endpoint)
        super().__init__(path, endpoint, **kwargs)


async def get_db_session(request: Request) -> AsyncIterator[Session]:
    database: Database = request.app.state.db
    session = database.sessionmaker()
    context = get_request_context()
    if context is not None:
        context.db_session = session
    try:
        yield session
    finally:
        if context is not None:
            context.db_session = None
        if session.in_transaction():
            # Something used the session outside a function that ends its transaction: a bug,
            # and the connection was held between threads. Give it back without blocking the
            # event loop; what it wrote is not committed.
            logger.error(
                "a database transaction outlived the function that began it",
                extra={"request_id": context.request_id if context else None},
            )
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_db_session)]


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database did not answer (down, restarting, network, no free
    connection), as opposed to refusing what was asked: worth trying again later."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def describe_unreachable(exc: BaseException) -> str:
    """One line on why the database did not answer, for a log line without a traceback."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}".rstrip(": ")


class DatabaseWatch:
    """What a process's background jobs (the scheduler's poll and heartbeat, the webhook
    delivery loop) say when the database does not answer: a warning for each job that finds
    it away (they are retried anyway), one line when it answers again, a traceback for any
    other failure.

    Jobs overlap (monotonic stamps): a failure begun before the latest success does not mark
    the database away again, and a success begun before the failure that found it away was
    seen (`ended`) does not say it is back, so "answers again" is said once per outage.
    """

    def __init__(
        self, who: str, *, extra: dict[str, Any] | None = None, log: logging.Logger = logger
    ) -> None:
        self.who, self.extra, self.log = who, extra or {}, log
        self._lock = threading.Lock()
        self._away = False
        self._answered_from = float("-inf")
        self._away_from = float("-inf")

    @property
    def away(self) -> bool:
        with self._lock:
            return self._away

    def failed(
        self,
        job: str,
        exc: BaseException,
        *,
        then: str | None = None,
        began: float | None = None,
        ended: float | None = None,
    ) -> None:
        """`ended`: when the failure was seen (default `began`); a success begun before it
        cannot tell that the database is back (the outage may have begun after it did)."""
        then = then or f"the next {job} tries again"
        if not database_unreachable(exc):
            self.log.exception("%s %s failed; %s", self.who, job, then, extra=self.extra)
            return
        with self._lock:
            stale = began is not None and began < self._answered_from
            if not stale:
                self._away = True
                seen = ended if ended is not None else began
                self._away_from = max(self._away_from, time.monotonic() if seen is None else seen)
        if stale:
            self.log.info(
                "%s %s begun while the database was away failed; it has answered since",
                self.who,
                job,
                extra=self.extra,
            )
            return
        self.log.warning(
            "%s: the database is unreachable (%s); %s",
            self.who,
            describe_unreachable(exc),
            then,
            extra=self.extra,
        )

    def reached(self, began: float) -> None:
        with self._lock:
            if began < self._away_from:
                return  # it reached the database before the failure that found it away
            self._answered_from = max(self._answered_from, began)
            was_away, self._away = self._away, False
        if was_away:
            self.log.info("%s: the database answers again", self.who, extra=self.extra)
