"""The loop every claiming worker of the scheduler process runs (deliveries, triggers)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.core.db import DatabaseWatch


def poll_until_stopped(
    *,
    poll: Callable[[], int],
    has_room: Callable[[], bool],
    stopping: threading.Event,
    wake: threading.Event,
    every_seconds: float,
    watch: DatabaseWatch,
    job: str,
) -> None:
    """Call `poll` (which claims work and returns how much) until `stopping` is set: again at
    once while it claims and there is room, else after `every_seconds` or when woken. A poll
    that fails (the database away) is logged once by the watch and tried again."""
    while not stopping.is_set():
        claimed = 0
        began = time.monotonic()
        try:
            claimed = poll()
        except Exception as exc:
            watch.failed(job, exc, began=began, ended=time.monotonic())
        else:
            watch.reached(began)
        if claimed and has_room():
            continue  # more may be due, and there is room
        wake.wait(every_seconds)
        wake.clear()
