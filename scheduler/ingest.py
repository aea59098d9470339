"""Real-time updates: the scheduler's loop over AWS change-event triggers.

`TriggerWorker` polls every `ingest_poll_seconds`: triggers claimed by a process that died go
back to pending (`ingest.release_stale`), old finished ones go (`ingest.prune`), and the APIs
whose debounce window has passed are claimed (`ingest.claim_due`, one UPDATE per API that one
process wins) as far as its threads have room. Each claimed API is synced on a thread of its
own (`lifecycle.targeted.sync`: AWS is asked with no session held) and its triggers get the
result (`ingest.finish`). Nothing here waits on a run, nor a run on it.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from app.core.db import Database, DatabaseWatch
from app.core.workers import ClaimLoop
from app.ingest import service as ingest
from app.lifecycle import targeted
from app.models.base import utcnow
from app.schedules.runs import Clock, RunServices

logger = logging.getLogger(__name__)

# How often claims of dead processes are looked for and finished triggers older than the
# retention deleted (a write each: not at every poll, which follows every sync).
_HOUSEKEEPING_EVERY_SECONDS = 30.0


class TriggerWorker(ClaimLoop):
    job = "ingest-claims"

    def __init__(
        self,
        *,
        database: Database,
        services: RunServices,
        worker: str,
        clock: Clock = utcnow,
        watch: DatabaseWatch | None = None,
    ) -> None:
        settings = services.settings
        self.database, self.services, self.worker, self.clock = database, services, worker, clock
        super().__init__(
            threads=settings.ingest_threads,
            poll_seconds=settings.ingest_poll_seconds,
            watch=watch or DatabaseWatch("ingest triggers", extra={"worker": worker}),
        )
        self.debounce = timedelta(seconds=settings.ingest_debounce_seconds)
        self.max_delay = timedelta(seconds=settings.ingest_max_delay_seconds)
        self.keep = timedelta(days=settings.ingest_retention_days)
        # A claim outlives any sync of one API: each account-region is bounded by the deadline.
        self.stale_after = timedelta(
            seconds=max(settings.run_timeout_seconds, settings.aws_run_region_deadline_seconds) + 60
        )
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="ingest")
        self._lock = threading.Lock()
        self._in_flight = 0
        self._housekept = float("-inf")

    def stop(self) -> None:
        """Claim nothing more. Syncs under way end by themselves; what they could not finish
        is pending again after the stale timeout."""
        self.halt()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def poll(self) -> int:
        """Claim the due APIs this worker has room for and start syncing them."""
        if self.stopping:
            return 0
        now = self.clock()
        if time.monotonic() - self._housekept > _HOUSEKEEPING_EVERY_SECONDS:
            ingest.release_stale(self.database, now=now, timeout=self.stale_after)
            ingest.prune(self.database, now=now, keep=self.keep)
            self._housekept = time.monotonic()
        room = self.threads - self.in_flight()
        if room <= 0:
            return 0
        groups = ingest.claim_due(
            self.database,
            worker=self.worker,
            now=now,
            debounce=self.debounce,
            max_delay=self.max_delay,
            limit=room,
        )
        for group in groups:
            with self._lock:
                self._in_flight += 1
            self._pool.submit(self._sync, group)
        return len(groups)

    def _sync(self, group: ingest.Group) -> None:
        try:
            outcome = targeted.sync(
                self.database,
                targeted.Request(
                    connection_id=group.connection_id,
                    account_id=group.account_id,
                    region=group.region,
                    api_id=group.api_id,
                    domain=None if group.api_id else group.name,
                    event_names=tuple(group.event_names),
                ),
                services_for=self.services.onboarding,
                keep=self.services.settings.definition_versions_kept,
            )
        except Exception:
            logger.exception(
                "change-event sync failed unexpectedly",
                extra={"connection_id": str(group.connection_id), "target": group.target},
            )
            outcome = targeted.Outcome(
                status="failed",
                code="internal_error",
                reason="The sync stopped on an unexpected error; the next scheduled run "
                "reconciles the API.",
            )
        try:
            ingest.finish(self.database, group, outcome, worker=self.worker, now=self.clock())
            logger.info(
                "change-event sync finished",
                extra={
                    "connection_id": str(group.connection_id),
                    "account_id": group.account_id,
                    "region": group.region,
                    "target": group.target,
                    "triggers": len(group.trigger_ids),
                    "status": outcome.status,
                    "outcome": outcome.outcome or outcome.code,
                },
            )
        except Exception as exc:
            # Left processing: pending again after the stale timeout, and synced then.
            self.watch.failed("ingest result", exc)
        finally:
            with self._lock:
                self._in_flight -= 1
            self.wake()
