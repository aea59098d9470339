"""What the auto-onboard benchmark measures inside its own process besides time and CPU.

- `PoolWatch`: how long each database connection stays checked out of the engine's pool (a
  transaction, in practice), and which function of `app/` took it, from SQLAlchemy's pool
  events `checkout` and `checkin`.
- `RssSampler`: the process's peak resident memory during one run (ru_maxrss only knows the
  peak since the process started).
- `Timeline`: when a run's discovery reached each account and listed each account-region, and
  how long each of its AWS calls took (of which waiting for the engine's own quota bucket).
- `ThreadProfiles`: cProfile in every thread started meanwhile (and the calling one), timed
  by each thread's own CPU clock, so it says which functions spend the process's CPU.
"""

from __future__ import annotations

import cProfile
import pstats
import resource
import sys
import threading
import time
from collections import defaultdict
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


Place = tuple[str, str]  # account, region


@dataclass
class Timeline:
    """Discovery's phases in one run, on the perf_counter clock."""

    open: bool = False  # during discovery: calls are timed only then
    pages: list[float] = field(default_factory=list)  # when each page of accounts arrived
    listed: dict[str, float] = field(default_factory=dict)  # account: when its page arrived
    reached: dict[str, tuple[float, float]] = field(default_factory=dict)  # account
    regions: dict[Place, tuple[float, float]] = field(default_factory=dict)
    calls: dict[Place, list[float]] = field(default_factory=lambda: defaultdict(list))
    waits: dict[Place, float] = field(default_factory=lambda: defaultdict(float))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.pages.clear()
            self.listed.clear()
            self.reached.clear()
            self.regions.clear()
            self.calls.clear()
            self.waits.clear()

    def summary(self, started: float, discovered: float) -> list[str]:
        """What took discovery's time, as lines (seconds from the run's start)."""
        lines: list[str] = []
        if not self.regions:
            return ["  (no region listed)"]
        if self.pages:
            lines.append(
                f"  pages of accounts         {len(self.pages)}: arrived at "
                + ", ".join(f"{page - started:.2f}" for page in self.pages)
                + " s"
            )
        reach_ends = sorted(end for _, end in self.reached.values())
        if reach_ends:
            lines.append(
                f"  accounts reached          {len(reach_ends)}: first "
                f"{reach_ends[0] - started:.2f} s, half by "
                f"{reach_ends[len(reach_ends) // 2] - started:.2f} s, last "
                f"{reach_ends[-1] - started:.2f} s"
            )
        starts = sorted(start for start, _ in self.regions.values())
        ends = sorted(end for _, end in self.regions.values())
        lines.append(
            f"  account-regions listed    {len(starts)}: started from {starts[0] - started:.2f}"
            f" s to {starts[-1] - started:.2f} s; half ended by "
            f"{ends[len(ends) // 2] - started:.2f} s, 99% by "
            f"{ends[min(len(ends) - 1, int(len(ends) * 0.99))] - started:.2f} s, last "
            f"{ends[-1] - started:.2f} s; discovery returned at {discovered - started:.2f} s"
        )
        every = [t for times in self.calls.values() for t in times]
        waited = sum(self.waits.values())
        if every:
            lines.append(
                f"  calls                     {len(every)}: mean "
                f"{sum(every) / len(every) * 1000:.1f} ms each (of which waiting for the "
                "engine's quota bucket "
                f"{waited / len(every) * 1000:.1f} ms), median "
                f"{sorted(every)[len(every) // 2] * 1000:.1f} ms, longest "
                f"{max(every) * 1000:.1f} ms"
            )
        busiest = max(self.calls, key=lambda place: len(self.calls[place]))
        last = max(self.regions, key=lambda place: self.regions[place][1])
        for label, place in (("busiest account-region", busiest), ("last to end", last)):
            start, end = self.regions.get(place, (started, started))
            times = self.calls.get(place, [])
            reach = self.reached.get(place[0])
            listed = self.listed.get(place[0])
            queued = (
                f"; its account listed at {listed - started:.2f} s, its task started at "
                f"{reach[0] - started:.2f} s, reached at {reach[1] - started:.2f} s"
                if reach and listed
                else ""
            )
            mean = sum(times) / len(times) * 1000 if times else 0.0
            lines.append(
                f"  {label:<25} {place[0]} {place[1]}: {len(times)} calls"
                f" from {start - started:.2f} s to {end - started:.2f} s ({end - start:.2f} s"
                f"{queued}); a call took {mean:.1f} ms on average (its stage listings "
                "several at once), of which "
                f"{self.waits.get(place, 0.0) / max(1, len(times)) * 1000:.1f} ms waiting for "
                "the engine's quota bucket"
            )
        return lines


class ThreadProfiles:
    """cProfile (by thread CPU time) in the calling thread and every thread started within."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _start(self, _frame: FrameType, _event: str, _arg: Any) -> None:
        profile = cProfile.Profile(time.thread_time)
        with self._lock:
            self.profiles.append(profile)
        sys.setprofile(None)
        profile.enable()

    def __enter__(self) -> ThreadProfiles:
        threading.setprofile(self._start)
        main = cProfile.Profile(time.thread_time)
        self.profiles.append(main)
        main.enable()
        return self

    def __exit__(self, *exc: object) -> None:
        self.profiles[0].disable()
        threading.setprofile(None)

    def stats(self) -> pstats.Stats:
        with self._lock:
            profiles = list(self.profiles)
        stats = pstats.Stats(profiles[0])
        for profile in profiles[1:]:
            try:
                stats.add(profile)
            except TypeError:  # a thread that made no call while profiled
                continue
        return stats
