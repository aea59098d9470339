"""APScheduler's per-poll lines ("Running job", "executed successfully", every few seconds)
are DEBUG, so that the service's and the demo's logs stay readable; its warnings stay."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from app.core.config import LogFormat
from app.core.logging import configure_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    executor = logging.getLogger("apscheduler.executors.default")
    filters = list(executor.filters)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    executor.filters[:] = filters


def _poll_logs(level: str, capsys: pytest.CaptureFixture[str]) -> str:
    configure_logging(log_format=LogFormat.TEXT, level=level)
    executor = logging.getLogger("apscheduler.executors.default")
    executor.info('Running job "Scheduler.poll (trigger: interval[0:00:02])"')
    executor.warning('Run time of job "Scheduler.poll" was missed by 0:00:05')
    return capsys.readouterr().err


def test_polls_are_not_logged_at_info(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logged = _poll_logs("INFO", capsys)
    assert "Running job" not in logged
    assert "WARNING apscheduler.executors.default Run time of job" in logged


def test_polls_are_logged_at_debug(
    restored_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    logged = _poll_logs("DEBUG", capsys)
    assert 'DEBUG apscheduler.executors.default Running job "Scheduler.poll' in logged
