"""How long AWS work may wait: the SDK's limits on each call, and deadlines on whole operations.

botocore bounds one call (connect and read timeouts, a number of attempts) but has no deadline
for an operation made of many calls. A `Deadline` is that: the work that runs `within` it sees
it in every thread it hands work to (`carry`), and `bounded` (which `call_aws` goes through)
checks it before each call and waits for the call no longer than the time left. A call still
running at the deadline is left to its own thread: it only makes the SDK request, whose answer
is dropped, and it ends when the SDK's own limits end it. The caller gets an AwsError with the
code `aws_timeout`, and handles it like any other AWS failure.

The deadline travels in a context variable, like the identity of `SharedClients.acting_as`, so
that it reaches the calls made deep inside (a credential refresh, the platform's identity
lookup) without a parameter through every helper.
"""

from __future__ import annotations

import contextvars
import functools
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from botocore.config import Config

from app.core.context import get_request_context, reset_request_context, set_request_context
from app.integrations.aws.errors import AwsError, AwsFailure, CallContext, timed_out

T = TypeVar("T")
P = ParamSpec("P")

# botocore's standard retry mode sleeps at most base**(attempt - 1) seconds between attempts
# (after a throttle; after other errors a twentieth of that), never more than the cap, plus
# up to 5 s when AWS asks for more (x-amz-retry-after).
_BACKOFF_BASE = 2.0
_BACKOFF_CAP = 20.0
_RETRY_AFTER_EXTRA = 5.0


@dataclass(frozen=True)
class Deadline:
    """A moment (on the monotonic clock) after which the work gives up with `aws_timeout`."""

    seconds: float  # what the work was given, for the message
    expires_at: float
    # The longest one call can take before the SDK gives up on it by itself. A call with more
    # time left than that runs in the caller's thread; only a later one needs a watcher.
    call_limit: float = math.inf

    @classmethod
    def after(cls, seconds: float, *, call_limit: float = math.inf) -> Deadline:
        return cls(seconds=seconds, expires_at=time.monotonic() + seconds, call_limit=call_limit)

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()

    def failure(self, context: CallContext) -> AwsFailure:
        return timed_out(context, seconds=self.seconds)

    def earlier(self, other: Deadline | None) -> Deadline:
        return self if other is None or self.expires_at <= other.expires_at else other


@dataclass(frozen=True)
class AwsTimeouts:
    """The SDK's limits on one call: to connect, for each answer, and how many attempts."""

    connect_seconds: float = 5.0
    read_seconds: float = 30.0
    attempts: int = 5

    @functools.cached_property
    def config(self) -> Config:
        return Config(
            retries={"mode": "standard", "total_max_attempts": self.attempts},
            connect_timeout=self.connect_seconds,
            read_timeout=self.read_seconds,
            max_pool_connections=64,
            user_agent_extra="onboarder",
        )

    @property
    def call_limit(self) -> float:
        """How long one call can take before the SDK gives up: each attempt's connect and
        read timeouts and the back-off between attempts (an endpoint that is silent, not one
        that trickles bytes)."""
        backoff = sum(
            min(_BACKOFF_BASE**n, _BACKOFF_CAP) + _RETRY_AFTER_EXTRA
            for n in range(self.attempts - 1)
        )
        return self.attempts * (self.connect_seconds + self.read_seconds) + backoff

    def deadline_after(self, seconds: float) -> Deadline:
        """A deadline for work whose calls are made with these limits."""
        return Deadline.after(seconds, call_limit=self.call_limit)


# Runs, and anything no person waits for: patient, since a run has time and AWS's throttling
# back-off needs it.
RUN_TIMEOUTS = AwsTimeouts()
# A person waits: fewer attempts, each shorter, so one silent request leaves time to retry.
INTERACTIVE_ATTEMPTS = 3


def interactive_timeouts(read_seconds: float) -> AwsTimeouts:
    return AwsTimeouts(
        connect_seconds=min(5.0, read_seconds),
        read_seconds=read_seconds,
        attempts=INTERACTIVE_ATTEMPTS,
    )


# ------------------------------------------------------------------------------ the deadline
_CURRENT: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "aws_deadline", default=None
)


@contextmanager
def within(deadline: Deadline | None) -> Iterator[None]:
    """AWS calls made in this block (and in work handed on with `carry`) end by `deadline`;
    an earlier deadline already in force stays in force."""
    current = _CURRENT.get()
    if deadline is None or deadline.earlier(current) is current:
        yield
        return
    token = _CURRENT.set(deadline)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def current_deadline() -> Deadline | None:
    return _CURRENT.get()


def time_left() -> float:
    """Seconds until the deadline in force; infinity when there is none."""
    deadline = _CURRENT.get()
    return math.inf if deadline is None else deadline.remaining()


def carry(function: Callable[P, T]) -> Callable[P, T]:
    """`function` under the deadline in force here, and as part of the request made here (its
    log lines carry the request id), for running in another thread: a pool's threads do not
    inherit the caller's context variables."""
    deadline = _CURRENT.get()
    request = get_request_context()
    if deadline is None and request is None:
        return function

    @functools.wraps(function)
    def in_callers_work(*args: P.args, **kwargs: P.kwargs) -> T:
        token = set_request_context(request) if request is not None else None
        try:
            with within(deadline):
                return function(*args, **kwargs)
        finally:
            if token is not None:
                reset_request_context(token)

    return in_callers_work


def bounded(context: CallContext, function: Callable[[], T]) -> T:
    """Make one AWS call, giving up on it at the deadline in force (AwsError `aws_timeout`).

    A call is not started once the deadline has passed. One that could outlast the time left
    runs in a thread of its own, in a copy of the caller's context (the identity it signs as,
    the deadline), while the caller waits no longer than the time left.
    """
    deadline = _CURRENT.get()
    if deadline is None:
        return function()
    left = deadline.remaining()
    if left <= 0:
        raise AwsError(deadline.failure(context))
    if left > deadline.call_limit:
        return function()
    future: Future[T] = Future()
    caller_context = contextvars.copy_context()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            result = caller_context.run(function)
        except BaseException as exc:  # handed to the caller, who classifies it
            future.set_exception(exc)
        else:
            future.set_result(result)

    threading.Thread(target=run, name="aws-call", daemon=True).start()
    if not wait([future], timeout=left).done:
        # The call goes on in its thread until the SDK gives up; its answer is dropped.
        raise AwsError(deadline.failure(context))
    return future.result()
