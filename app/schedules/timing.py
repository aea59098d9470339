"""When an auto-onboard schedule's occurrences fall, in the schedule's own time zone.

APScheduler 3's CronTrigger computes the fire times; two DST cases are settled here:

- Fall back: a wall-clock time in the repeated hour happens twice, and CronTrigger fires at
  both (and, asked again from just after the second, answers the second again). An occurrence
  is identified by its wall-clock time (`Occurrence.local`); only its first instant counts.
- Spring forward: a wall-clock time in the skipped hour never happens. CronTrigger gives it
  with the offset from before the change, i.e. shifted forward by the size of the jump
  (02:30 in New York on the spring-forward day runs at 03:30 EDT); it runs once, then.

The scheduler claims each occurrence by its wall-clock time, so even two processes that
compute the same occurrence run it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

Frequency = Literal["daily", "weekly", "monthly"]
DAYS_OF_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Far enough back to find the previous occurrence of any frequency (a month is at most 31 days).
_LOOKBACK = {"daily": timedelta(days=2), "weekly": timedelta(days=8), "monthly": timedelta(days=32)}


@dataclass(frozen=True)
class Cadence:
    frequency: Frequency
    hour: int
    minute: int
    timezone: str
    day_of_week: str | None = None  # weekly: mon..sun
    day_of_month: int | None = None  # monthly: 1..28

    def trigger(self) -> CronTrigger:
        fields: dict[str, str | int] = {"hour": self.hour, "minute": self.minute}
        if self.frequency == "weekly":
            fields["day_of_week"] = self.day_of_week or "mon"
        elif self.frequency == "monthly":
            fields["day"] = self.day_of_month or 1
        return CronTrigger(timezone=ZoneInfo(self.timezone), **fields)


@dataclass(frozen=True)
class Occurrence:
    local: datetime  # the wall-clock time in the schedule's zone, naive: what identifies it
    at: datetime  # the instant it runs, UTC
    timezone: str

    @property
    def at_local(self) -> datetime:
        return self.at.astimezone(ZoneInfo(self.timezone))


def _instant(local: datetime, zone: ZoneInfo) -> datetime:
    """When a wall-clock time first happens; a skipped one, shifted forward by the jump."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_occurrence(cadence: Cadence, after: datetime) -> Occurrence:
    """The first occurrence strictly after `after` (an aware datetime)."""
    zone = ZoneInfo(cadence.timezone)
    trigger = cadence.trigger()
    after_utc = after.astimezone(UTC)
    probe = after_utc + timedelta(microseconds=1)
    while True:
        fire: datetime = trigger.get_next_fire_time(None, probe.astimezone(zone))
        local = fire.replace(tzinfo=None, fold=0)  # CronTrigger keeps the wall-clock time
        at = _instant(local, zone)
        if at > after_utc:
            return Occurrence(local=local, at=at, timezone=cadence.timezone)
        # The second instant of a repeated time: that occurrence ran at the first. A repeated
        # stretch lasts at most an hour; look from past its end.
        probe = fire.astimezone(UTC) + timedelta(hours=1, microseconds=1)


def latest_occurrence(cadence: Cadence, now: datetime) -> Occurrence | None:
    """The last occurrence at or before `now` (None if there was none in the last period)."""
    probe = now.astimezone(UTC) - _LOOKBACK[cadence.frequency]
    latest = None
    while True:
        occurrence = next_occurrence(cadence, probe)
        if occurrence.at > now.astimezone(UTC):
            return latest
        latest, probe = occurrence, occurrence.at
