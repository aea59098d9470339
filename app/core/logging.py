"""Log setup: text or JSON lines, each carrying the request id, with secrets scrubbed."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from app.core.config import LogFormat
from app.core.context import get_request_context

# Defence in depth: code never logs these, and this filter makes sure a slip does not leak one.
_REDACTIONS = [
    (re.compile(r"onb_[0-9a-f]{16}_[A-Za-z0-9_-]+"), "onb_[REDACTED]"),
    (re.compile(r"\b((?:AKIA|ASIA)[A-Z0-9]{4})[A-Z0-9]{8,}([A-Z0-9]{4})\b"), r"\1********\2"),
    (re.compile(r"(?i)(bearer\s+)[^\s,;\"']+"), r"\1[REDACTED]"),
    # A secret field's value: the name, then `=` or `:` (quoted or not), then the value. A line
    # that only names the field (`fields=name,secret_access_key request_id=...`) keeps the rest.
    (
        re.compile(
            r"(?i)(aws_secret_access_key|secret_access_key|secretaccesskey)"
            r"([\"']?\s*[=:]\s*[\"']?)[^\s,;\"']+"
        ),
        r"\1\2[REDACTED]",
    ),
    # An AWS secret access key on its own: 40 characters of base64 with both cases (a SHA-1
    # in hex, or a key id, has not).
    (
        re.compile(
            r"(?<![A-Za-z0-9/+])(?=[A-Za-z0-9/+]*[a-z])(?=[A-Za-z0-9/+]*[A-Z])"
            r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
        ),
        "[REDACTED]",
    ),
]

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = get_request_context()
        if not hasattr(record, "request_id"):
            record.request_id = context.request_id if context else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and value is not None:
                payload[key] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return redact(json.dumps(payload, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [
            f"{key}={value}"
            for key, value in record.__dict__.items()
            if key not in _STANDARD_ATTRS and value is not None
        ]
        if extras:
            line = f"{line} {' '.join(extras)}"
        return redact(line)


class RoutineAtDebug(logging.Filter):
    """APScheduler says "Running job ..." and "executed successfully" at INFO for every poll
    (every few seconds): routine, so logged at DEBUG. Its warnings and errors (a job missed, a
    job that raised) keep their level."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def configure_logging(*, log_format: LogFormat, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format is LogFormat.JSON else TextFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_onboarder", False):
            root.removeHandler(existing)
    handler._onboarder = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's own access log would duplicate ours, without tenant or request id.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for routine in ("apscheduler.executors.default", "apscheduler.scheduler"):
        logger = logging.getLogger(routine)
        for old in [f for f in logger.filters if isinstance(f, RoutineAtDebug)]:
            logger.removeFilter(old)
        logger.addFilter(RoutineAtDebug())
