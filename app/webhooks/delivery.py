"""The delivery worker's functions: claim due deliveries, attempt them, record each attempt.

The scheduler process calls them (`Deliverer`), as it calls `schedules.runs` for runs:

- `claim` takes due deliveries with one UPDATE whose WHERE only a free delivery passes (no
  claim, or one whose lease has run out), so of several scheduler processes exactly one
  attempts each delivery at a time. At most `per_endpoint` deliveries of one endpoint are
  claimed at once, so a slow or dead receiver holds a few threads, never all of them, and
  never a run's.
- `attempt` posts the event signed per Standard Webhooks, with a timeout, to the address the
  SSRF guard checked (production mode).
- `record` writes the attempt: delivered; or pending again after a growing, jittered delay
  (`RETRY_DELAYS`: more than 24 hours in all); or failed after the last. An endpoint that has
  failed every attempt for `DISABLE_AFTER` is disabled, with a `webhook.disabled` event.

A process that dies mid-attempt leaves its claim to run out (`lease`): the delivery is then
attempted again, so receivers get each event at least once (the `webhook-id` tells repeats).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.core.db import Database, DatabaseWatch
from app.core.security import SecretBox
from app.core.workers import ClaimLoop
from app.events import service as events
from app.models import Event, WebhookDelivery, WebhookEndpoint
from app.models.base import utcnow
from app.webhooks import guard
from app.webhooks.service import body_of, headers_for, signing_secrets

logger = logging.getLogger(__name__)

# The wait after each failed attempt (Standard Webhooks' suggested schedule): attempt 1 is
# immediate, attempt 8 comes about 27.6 hours after it, and a delivery whose 8th attempt
# fails is failed. Each wait is jittered by +-10%, so the last attempt is never before 24 h.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1
# Attempts written in one transaction at most.
_RECORD_BATCH = 200
DISABLE_AFTER = timedelta(days=5)
_ERROR_LENGTH = 1000

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds, with what an attempt needs."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    url: str
    body: str
    secrets: tuple[str, ...]
    attempts: int


@dataclass(frozen=True)
class Attempt:
    status_code: int | None
    error: str | None
    delivered: bool


def claim(
    database: Database,
    *,
    worker: str,
    box: SecretBox,
    now: datetime,
    lease: timedelta,
    limit: int,
    per_endpoint: int,
    busy: Counter[uuid.UUID] | None = None,
) -> list[Claimed]:
    """Up to `limit` due deliveries of enabled endpoints, at most `per_endpoint` of each (one
    of an endpoint failing every attempt), counting `busy`, the attempts this worker has
    under way; each endpoint's oldest due first. One index probe per endpoint with room
    (endpoint, status, next attempt): a long backlog of one endpoint costs the others
    nothing."""
    busy = busy or Counter()
    free = (WebhookDelivery.claimed_until.is_(None)) | (WebhookDelivery.claimed_until < now)
    with database.session() as session:
        endpoints: list[tuple[uuid.UUID, datetime | None]] = [
            (row.id, row.failing_since)
            for row in session.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.failing_since).where(
                    WebhookEndpoint.enabled.is_(True)
                )
            )
        ]
        random.shuffle(endpoints)  # no endpoint is always served first
        wanted: list[uuid.UUID] = []
        for endpoint_id, failing_since in endpoints:
            # An endpoint failing every attempt gets one at a time: its backlog waits on it,
            # not on the threads (and the CPU) the other endpoints' deliveries need.
            most = per_endpoint if failing_since is None else 1
            room = min(most - busy[endpoint_id], limit - len(wanted))
            if room <= 0:
                continue
            wanted += session.scalars(
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.endpoint_id == endpoint_id,
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at <= now,
                    free,
                )
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(room)
            )
            if len(wanted) >= limit:
                break
        if not wanted:
            return []
        # Only a delivery still free is taken: of two processes, one wins each row.
        taken = list(
            session.scalars(
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(wanted), WebhookDelivery.status == "pending", free)
                .values(claimed_by=worker, claimed_until=now + lease)
                .returning(WebhookDelivery.id)
                .execution_options(synchronize_session=False)
            )
        )
        if not taken:
            return []
        found = session.execute(
            select(WebhookDelivery, WebhookEndpoint, Event)
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id.in_(taken))
        ).all()
        keys: dict[uuid.UUID, tuple[str, ...]] = {}
        claimed = []
        for delivery, endpoint, event in found:
            if endpoint.id not in keys:
                keys[endpoint.id] = tuple(signing_secrets(endpoint, box, now))
            claimed.append(
                Claimed(
                    delivery_id=delivery.id,
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    url=endpoint.url,
                    body=body_of(event),
                    secrets=keys[endpoint.id],
                    attempts=delivery.attempts,
                )
            )
        return claimed


def attempt(
    claimed: Claimed,
    *,
    client: httpx.Client,
    production: bool,
    resolver: guard.Resolver | None = None,
) -> Attempt:
    """POST the event once; never raises. `webhook-timestamp` is when it is sent (the
    receiver checks it against its own clock), whatever clock schedules the attempts."""
    try:
        target = guard.check(claimed.url, production=production, resolver=resolver)
    except guard.WebhookUrlNotAllowed as exc:
        return Attempt(None, f"webhook_url_not_allowed: {exc.errors[0]['message']}", False)
    headers = headers_for(str(claimed.event_id), claimed.body, claimed.secrets, utcnow())
    url, extensions = claimed.url, {}
    if target.address is not None:
        # Connect to the address the guard checked; TLS still verifies the host's name.
        literal = f"[{target.address}]" if ":" in target.address else target.address
        url = str(httpx.URL(claimed.url).copy_with(host=literal.strip("[]")))
        headers["host"] = httpx.URL(claimed.url).netloc.decode()
        extensions = {"sni_hostname": target.host}
    try:
        response = client.post(
            url, content=claimed.body.encode(), headers=headers, extensions=extensions
        )
    except httpx.TimeoutException:
        return Attempt(None, "timed out: the receiver did not answer in time", False)
    except httpx.HTTPError as exc:
        return Attempt(None, f"could not connect: {type(exc).__name__}: {exc}"[:200], False)
    if 200 <= response.status_code < 300:
        return Attempt(response.status_code, None, True)
    return Attempt(response.status_code, f"the receiver answered {response.status_code}", False)


def next_delay(attempts: int, rng: random.Random | None = None) -> timedelta | None:
    """The wait after the `attempts`-th failed attempt, or None: that was the last."""
    if attempts >= MAX_ATTEMPTS:
        return None
    spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return RETRY_DELAYS[attempts - 1] * spread


def _values(
    claimed: Claimed, result: Attempt, now: datetime, rng: random.Random | None
) -> dict[str, Any]:
    attempts = claimed.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_attempt_at": now,
        "last_status_code": result.status_code,
        "last_error": None if result.error is None else result.error[:_ERROR_LENGTH],
        "claimed_by": None,
        "claimed_until": None,
    }
    if result.delivered:
        values.update(status="delivered", delivered_at=now, next_attempt_at=None)
    else:
        delay = next_delay(attempts, rng)
        if delay is None:
            values.update(status="failed", next_attempt_at=None)
        else:
            values.update(status="pending", next_attempt_at=now + delay)
    return values


def record(
    database: Database,
    attempts: list[tuple[Claimed, Attempt]],
    *,
    worker: str,
    now: datetime,
    rng: random.Random | None = None,
) -> list[str | None]:
    """Write attempts in one transaction; each one's delivery status, None where the delivery
    was no longer this worker's (its claim ran out and another took it, or it was deleted)."""
    statuses: list[str | None] = []
    health: dict[uuid.UUID, bool] = {}  # endpoint -> delivered something in this batch
    with database.session() as session:
        for claimed, result in attempts:
            values = _values(claimed, result, now, rng)
            written = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == claimed.delivery_id,
                    WebhookDelivery.claimed_by == worker,
                    WebhookDelivery.status == "pending",
                )
                .values(values)
                .execution_options(synchronize_session=False)
            )
            if getattr(written, "rowcount", 0) != 1:
                statuses.append(None)
                continue
            statuses.append(str(values["status"]))
            health[claimed.endpoint_id] = health.get(claimed.endpoint_id, False) or (
                result.delivered
            )
        for endpoint_id, delivered in health.items():
            _endpoint_health(session, endpoint_id, delivered=delivered, now=now)
    return statuses


def _endpoint_health(
    session: Session, endpoint_id: uuid.UUID, *, delivered: bool, now: datetime
) -> None:
    if delivered:
        session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_not(None))
            .values(failing_since=None)
            .execution_options(synchronize_session=False)
        )
        return
    session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_(None))
        .values(failing_since=now)
        .execution_options(synchronize_session=False)
    )
    # One statement decides: of two attempts failing at once, one disables and says so.
    days = DISABLE_AFTER.days
    disabled = session.scalars(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.enabled.is_(True),
            WebhookEndpoint.failing_since <= now - DISABLE_AFTER,
        )
        .values(
            enabled=False,
            disabled_at=now,
            disabled_reason=f"Every delivery attempt failed for {days} days.",
        )
        .returning(WebhookEndpoint.id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if disabled is None:
        return
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    assert endpoint is not None
    assert endpoint.failing_since is not None
    events.emit(
        session,
        tenant_id=endpoint.tenant_id,
        type=events.WEBHOOK_DISABLED,
        data={
            "webhook_id": str(endpoint.id),
            "url": endpoint.url,
            "failing_since": endpoint.failing_since.isoformat(),
            "summary": f"Webhook {endpoint.url} was disabled: every delivery attempt failed "
            f"for {days} days. Fix the receiver, then enable the webhook again; the events "
            "held for it meanwhile are delivered then.",
        },
    )
    logger.warning(
        "webhook disabled: every delivery failed for %s days",
        days,
        extra={"webhook_id": str(endpoint.id)},
    )


def _seconds_since(value: Any, now: datetime) -> float:
    if value is None:
        return 0.0
    if not isinstance(value, datetime):  # an aggregate skips the column's type on SQLite
        value = datetime.fromisoformat(str(value))
    if value.tzinfo is None:
        value = value.replace(tzinfo=now.tzinfo)
    waited: float = (now - value).total_seconds()
    return max(0.0, waited)


def oldest_pending_age(database: Database, now: datetime) -> float:
    """Seconds since the oldest pending delivery of an enabled endpoint was queued (one that
    waits for its next try after failing counts too)."""
    with database.session() as session:
        oldest = session.scalar(
            select(func.min(WebhookDelivery.created_at))
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(WebhookDelivery.status == "pending", WebhookEndpoint.enabled.is_(True))
        )
    return _seconds_since(oldest, now)


def oldest_due_lag(database: Database, now: datetime) -> float:
    """How long the most overdue pending delivery has waited past the time it was due: the
    worker falling behind (a failing receiver's deliveries waiting for their retry do not
    count until they are due)."""
    with database.session() as session:
        due = session.scalar(
            select(func.min(WebhookDelivery.next_attempt_at))
            .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                WebhookEndpoint.enabled.is_(True),
            )
        )
    return _seconds_since(due, now)


# ---------------------------------------------------------------------------- the worker
def _about(claimed: Claimed) -> dict[str, str]:
    return {"webhook_id": str(claimed.endpoint_id), "event_id": str(claimed.event_id)}


@dataclass
class DeliveryMetrics:
    """Hooks for Prometheus counters (observability wires them; tests may leave them)."""

    attempted: Callable[[str], None] = lambda outcome: None
    oldest_pending: Callable[[float], None] = lambda seconds: None
    oldest_due: Callable[[float], None] = lambda seconds: None


class Deliverer(ClaimLoop):
    """Attempts due deliveries on `threads` threads of its own: the scheduler process calls
    `poll` (often), and `stop` when it ends. Nothing here waits on a run, nor a run on it."""

    job = "webhook-claims"

    def __init__(
        self,
        *,
        database: Database,
        box: SecretBox,
        worker: str,
        production: bool,
        timeout_seconds: float,
        threads: int,
        per_endpoint: int,
        poll_seconds: float = 1.0,
        clock: Clock = utcnow,
        metrics: DeliveryMetrics | None = None,
        resolver: guard.Resolver | None = None,
        watch: DatabaseWatch | None = None,
    ) -> None:
        super().__init__(
            threads=threads,
            poll_seconds=poll_seconds,
            watch=watch or DatabaseWatch("webhook deliveries", extra={"worker": worker}),
        )
        self.database, self.box, self.worker = database, box, worker
        self.production = production
        self.per_endpoint = per_endpoint
        self.clock = clock
        self.metrics = metrics or DeliveryMetrics()
        self.resolver = resolver
        self.lease = timedelta(seconds=timeout_seconds * 2 + 30)
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=threads * 2),
        )
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="webhook")
        self._lock = threading.Lock()
        self._busy: Counter[uuid.UUID] = Counter()
        self._not_begun: set[uuid.UUID] = set()  # claimed, waiting for a thread
        # Attempts made, waiting to be written: one thread writes them in batches (one
        # transaction each), not every attempt its own.
        self._results: queue.SimpleQueue[tuple[Claimed, Attempt] | None] = queue.SimpleQueue()
        self._recorder = threading.Thread(
            target=self._record_loop, name="webhook-records", daemon=True
        )
        self._recorder.start()
        self._measured = float("-inf")

    # ------------------------------------------------------------------ the loop
    def in_flight(self) -> int:
        with self._lock:
            return sum(self._busy.values())

    def poll(self) -> int:
        """Claim what this worker has room for and start attempting it; returns how many."""
        if self.stopping:
            return 0
        now = self.clock()
        with self._lock:
            busy = Counter(self._busy)
        room = self.threads - sum(busy.values())
        claimed = []
        if room > 0:
            claimed = claim(
                self.database,
                worker=self.worker,
                box=self.box,
                now=now,
                lease=self.lease,
                limit=room,
                per_endpoint=self.per_endpoint,
                busy=busy,
            )
        with self._lock:
            for item in claimed:
                self._busy[item.endpoint_id] += 1
                self._not_begun.add(item.delivery_id)
        for item in claimed:
            try:
                self._pool.submit(self._deliver, item)
            except RuntimeError:  # stopping: the pool takes nothing more; `stop` releases it
                break
        if time.monotonic() - self._measured >= 1.0:  # the gauge, at most once a second
            self._measured = time.monotonic()
            self.metrics.oldest_pending(oldest_pending_age(self.database, now))
            self.metrics.oldest_due(oldest_due_lag(self.database, now))
        return len(claimed)

    def _deliver(self, claimed: Claimed) -> None:
        with self._lock:
            self._not_begun.discard(claimed.delivery_id)
        try:
            result = attempt(
                claimed, client=self._client, production=self.production, resolver=self.resolver
            )
        except Exception:  # attempt never raises; if it did, the claim runs out: not lost
            logger.exception("webhook delivery attempt failed unexpectedly", extra=_about(claimed))
            self._done([claimed])
            return
        self._results.put((claimed, result))

    def _record_loop(self) -> None:
        while True:
            first = self._results.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < _RECORD_BATCH:
                try:
                    item = self._results.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._results.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[tuple[Claimed, Attempt]]) -> None:
        try:
            statuses = record(self.database, batch, worker=self.worker, now=self.clock())
        except Exception:
            # Their claims run out and other attempts follow: never lost.
            logger.exception(
                "webhook delivery attempts could not be recorded",
                extra={"attempts": len(batch)},
            )
        else:
            for (claimed, result), status in zip(batch, statuses, strict=True):
                self.metrics.attempted("delivered" if result.delivered else "failed_attempt")
                if status == "failed":
                    self.metrics.attempted("failed")
                    logger.warning(
                        "webhook delivery failed after %s attempts",
                        claimed.attempts + 1,
                        extra=_about(claimed),
                    )
        finally:
            self._done([claimed for claimed, _ in batch])

    def _done(self, claimed: list[Claimed]) -> None:
        with self._lock:
            for item in claimed:
                self._busy[item.endpoint_id] -= 1
                if self._busy[item.endpoint_id] <= 0:
                    del self._busy[item.endpoint_id]
            room = self.threads - sum(self._busy.values())
        if room * 2 >= self.threads:  # half the threads idle: claim more now
            self.wake()

    def drain(self, timeout: float = 30.0) -> None:
        """Wait (up to `timeout`) for the attempts under way: tests and benchmarks."""
        deadline = time.monotonic() + timeout
        while self.in_flight() and time.monotonic() < deadline:
            time.sleep(0.005)

    def stop(self) -> None:
        """Start nothing more; attempts not begun give their claims back (best effort: an
        unreachable database lets them run out instead)."""
        self.halt()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            not_begun = list(self._not_begun)
        try:
            if not_begun:
                with self.database.session() as session:
                    session.execute(
                        update(WebhookDelivery)
                        .where(
                            WebhookDelivery.id.in_(not_begun),
                            WebhookDelivery.claimed_by == self.worker,
                        )
                        .values(claimed_by=None, claimed_until=None)
                        .execution_options(synchronize_session=False)
                    )
        except Exception as exc:
            logger.info("webhook claims left to run out: %s", type(exc).__name__)
        # Attempts under way finish (within the timeout) and record themselves; the client
        # closes after them, not under them.
        threading.Thread(target=self._close_when_done, name="webhook-close", daemon=True).start()

    def _close_when_done(self) -> None:
        self._pool.shutdown(wait=True)
        self._results.put(None)  # the recorder writes what is left, then ends
        self._client.close()
