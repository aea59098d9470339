"""A small thread-safe cache whose entries expire, for answers that are costly to get again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class TtlCache:
    """Entries live `ttl_seconds`; at `max_entries` the oldest fifth is dropped. A failed
    computation stores nothing, so the next call tries again; neither does an answer that
    `keep` refuses (one known to be incomplete)."""

    def __init__(self, ttl_seconds: float, *, max_entries: int = 256) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    def get_or_compute(
        self,
        key: Hashable,
        compute: Callable[[], T],
        *,
        refresh: bool = False,
        keep: Callable[[T], bool] | None = None,
    ) -> T:
        now = time.monotonic()
        if not refresh:
            with self._lock:
                entry = self._entries.get(key)
                if entry is not None and entry[0] > now:
                    cached: T = entry[1]
                    return cached
        value = compute()
        if self._ttl > 0 and (keep is None or keep(value)):
            with self._lock:
                if len(self._entries) >= self._max:
                    by_age = sorted(self._entries, key=lambda k: self._entries[k][0])
                    for old in by_age[: max(1, self._max // 5)]:
                        del self._entries[old]
                self._entries[key] = (now + self._ttl, value)
        return value
