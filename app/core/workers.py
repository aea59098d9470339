"""The loop every claiming worker of the scheduler process runs (deliveries, triggers)."""

from __future__ import annotations

import threading
import time

from app.core.db import DatabaseWatch


class ClaimLoop:
    """A thread of its own that calls `poll` (which claims work, starts it on the worker's own
    threads and returns how much it claimed) until `halt`: again at once while it claims and
    there is room, else after `poll_seconds` or when woken. A poll that fails (the database
    away) is logged once by the watch and tried again."""

    job = "poll"

    def __init__(self, *, threads: int, poll_seconds: float, watch: DatabaseWatch) -> None:
        self.threads, self.poll_seconds, self.watch = threads, poll_seconds, watch
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> int:
        raise NotImplementedError

    def in_flight(self) -> int:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=self.job, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def halt(self) -> None:
        """Claim nothing more; a poll under way ends first (or is let be after 5 s)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            claimed = 0
            began = time.monotonic()
            try:
                claimed = self.poll()
            except Exception as exc:
                self.watch.failed(self.job, exc, began=began, ended=time.monotonic())
            else:
                self.watch.reached(began)
            if claimed and self.in_flight() < self.threads:
                continue  # more may be due, and there is room
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
