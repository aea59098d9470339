"""Occurrences of schedules in their time zones, across DST changes: each one exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.schedules.timing import Cadence, latest_occurrence, next_occurrence


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def occurrences(cadence: Cadence, start: str, count: int) -> list[tuple[str, str]]:
    """(wall-clock time, UTC instant) of the next `count` occurrences after `start`."""
    found, after = [], utc(start)
    for _ in range(count):
        occurrence = next_occurrence(cadence, after)
        found.append(
            (
                occurrence.local.isoformat(timespec="minutes"),
                occurrence.at.strftime("%Y-%m-%d %H:%M"),
            )
        )
        after = occurrence.at
    return found


def test_daily_weekly_and_monthly_fall_at_their_local_time() -> None:
    daily = Cadence("daily", hour=9, minute=0, timezone="Europe/Berlin")
    assert occurrences(daily, "2026-01-10 12:00", 2) == [
        ("2026-01-11T09:00", "2026-01-11 08:00"),
        ("2026-01-12T09:00", "2026-01-12 08:00"),
    ]
    weekly = Cadence("weekly", hour=9, minute=30, timezone="Asia/Tokyo", day_of_week="mon")
    assert occurrences(weekly, "2026-11-21 00:00", 2) == [
        ("2026-11-23T09:30", "2026-11-23 00:30"),
        ("2026-11-30T09:30", "2026-11-30 00:30"),
    ]
    # 23:45 in Los Angeles on the 28th is already the 29th in UTC.
    monthly = Cadence(
        "monthly", hour=23, minute=45, timezone="America/Los_Angeles", day_of_month=28
    )
    assert occurrences(monthly, "2026-01-01 00:00", 3) == [
        ("2026-01-28T23:45", "2026-01-29 07:45"),
        ("2026-02-28T23:45", "2026-03-01 07:45"),
        ("2026-03-28T23:45", "2026-03-29 06:45"),
    ]


@pytest.mark.parametrize(
    ("timezone", "hour", "minute", "start", "expected"),
    [
        # Spring forward: 02:00 -> 03:00. 02:30 does not exist; it runs once, an hour later.
        (
            "America/New_York",
            2,
            30,
            "2026-03-07 00:00",
            [
                ("2026-03-07T02:30", "2026-03-07 07:30"),
                ("2026-03-08T02:30", "2026-03-08 07:30"),  # 03:30 EDT
                ("2026-03-09T02:30", "2026-03-09 06:30"),
            ],
        ),
        # Fall back: 02:00 -> 01:00. 01:30 happens twice; it runs at the first.
        (
            "America/New_York",
            1,
            30,
            "2026-10-31 00:00",
            [
                ("2026-10-31T01:30", "2026-10-31 05:30"),
                ("2026-11-01T01:30", "2026-11-01 05:30"),
                ("2026-11-02T01:30", "2026-11-02 06:30"),
            ],
        ),
        (
            "Europe/Berlin",
            2,
            30,
            "2026-03-28 00:00",
            [
                ("2026-03-28T02:30", "2026-03-28 01:30"),
                ("2026-03-29T02:30", "2026-03-29 01:30"),  # 03:30 CEST
                ("2026-03-30T02:30", "2026-03-30 00:30"),
            ],
        ),
        (
            "Europe/Berlin",
            2,
            30,
            "2026-10-24 00:00",
            [
                ("2026-10-24T02:30", "2026-10-24 00:30"),
                ("2026-10-25T02:30", "2026-10-25 00:30"),
                ("2026-10-26T02:30", "2026-10-26 01:30"),
            ],
        ),
        # Lord Howe Island moves its clocks by half an hour.
        (
            "Australia/Lord_Howe",
            2,
            15,
            "2026-10-02 12:00",
            [
                ("2026-10-03T02:15", "2026-10-02 15:45"),
                ("2026-10-04T02:15", "2026-10-03 15:45"),  # 02:45 +11:00
                ("2026-10-05T02:15", "2026-10-04 15:15"),
            ],
        ),
        (
            "Australia/Lord_Howe",
            1,
            45,
            "2026-04-03 12:00",
            [
                ("2026-04-04T01:45", "2026-04-03 14:45"),
                ("2026-04-05T01:45", "2026-04-04 14:45"),
                ("2026-04-06T01:45", "2026-04-05 15:15"),
            ],
        ),
    ],
)
def test_dst_changes_give_each_occurrence_exactly_once(
    timezone: str, hour: int, minute: int, start: str, expected: list[tuple[str, str]]
) -> None:
    cadence = Cadence("daily", hour=hour, minute=minute, timezone=timezone)
    assert occurrences(cadence, start, 3) == expected


def test_between_the_two_instants_of_a_repeated_time_the_next_is_the_next_day() -> None:
    cadence = Cadence("daily", hour=1, minute=30, timezone="America/New_York")
    # 06:00 UTC is 01:00 EST: the first 01:30 (05:30 UTC) has run, the second is ahead.
    assert next_occurrence(cadence, utc("2026-11-01 06:00")).at == utc("2026-11-02 06:30")


def test_the_latest_occurrence_is_the_last_one_at_or_before_now() -> None:
    cadence = Cadence("weekly", hour=6, minute=0, timezone="Europe/Berlin", day_of_week="fri")
    latest = latest_occurrence(cadence, utc("2026-11-21 09:00"))
    assert latest is not None
    assert latest.at == utc("2026-11-20 05:00")
    assert latest.at_local.isoformat() == "2026-11-20T06:00:00+01:00"
    assert latest_occurrence(cadence, utc("2026-11-20 05:00")) == latest
    earlier = latest_occurrence(cadence, utc("2026-11-20 04:59"))
    assert earlier is not None
    assert earlier.at == utc("2026-11-13 05:00")
