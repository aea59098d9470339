"""What the auto-onboard benchmark measures inside its own process besides time and CPU.

- `PoolWatch`: how long each database connection stays checked out of the engine's pool (a
  transaction, in practice), and which function of `app/` took it, from SQLAlchemy's pool
  events `checkout` and `checkin`.
- `RssSampler`: the process's peak resident memory during one run (ru_maxrss only knows the
  peak since the process started).
"""

from __future__ import annotations

import resource
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import Engine, event

_APP = f"{Path(__file__).resolve().parents[2] / 'app'}/"
_SKIPPED = (f"{_APP}core/db.py",)


def _taker(frame: FrameType | None) -> str:
    """The innermost function of app/ (beyond the session helpers) on the stack."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_APP) and not filename.startswith(_SKIPPED):
            return f"app/{filename[len(_APP) :]}:{frame.f_code.co_name}"
        frame = frame.f_back
    return "(outside app/)"


@dataclass
class Checkouts:
    count: int = 0
    total: float = 0.0
    longest: float = 0.0
    longest_by: str = ""
    by_taker: dict[str, float] = field(default_factory=dict)  # seconds held per function
    held: list[float] = field(default_factory=list)  # every checkout's duration
    # When (perf_counter) each checkout by `mark_taker` ended: the run's writes of applications.
    marked_ends: list[float] = field(default_factory=list)


class PoolWatch:
    """Times every checkout of a connection from `engine`'s pool until its checkin."""

    def __init__(self, engine: Engine, *, mark_taker: str = "") -> None:
        self._lock = threading.Lock()
        self._open: dict[int, tuple[float, str]] = {}
        self.mark_taker = mark_taker
        self.figures = Checkouts()
        event.listen(engine, "checkout", self._checkout)
        event.listen(engine, "checkin", self._checkin)

    def reset(self) -> None:
        with self._lock:
            self.figures = Checkouts()

    def _checkout(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        taker = _taker(sys._getframe(1))
        with self._lock:
            self._open[id(record)] = (time.perf_counter(), taker)

    def _checkin(self, _dbapi: Any, record: Any) -> None:
        now = time.perf_counter()
        with self._lock:
            opened = self._open.pop(id(record), None)
            if opened is None:
                return
            started, taker = opened
            held = now - started
            figures = self.figures
            figures.count += 1
            figures.total += held
            figures.held.append(held)
            figures.by_taker[taker] = figures.by_taker.get(taker, 0.0) + held
            if held > figures.longest:
                figures.longest, figures.longest_by = held, taker
            if taker == self.mark_taker:
                figures.marked_ends.append(now)


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler:
    """Samples the resident set every `interval` seconds while in its `with` block."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, _rss_mb())
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> RssSampler:
        self.peak_mb = _rss_mb()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, _rss_mb())
