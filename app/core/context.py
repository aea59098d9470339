"""What the current request is, for log lines and error bodies, wherever the code runs."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass
class RequestContext:
    # Mutable on purpose: a dependency running in a worker thread sees a copy of the context
    # variables, but the same object, so what it records here reaches the access log line.
    request_id: str
    tenant_id: uuid.UUID | None = None
    # The request's database session, for the functions that end its transaction in their
    # own worker thread (app.core.db.ends_transaction).
    db_session: Session | None = None


_current: ContextVar[RequestContext | None] = ContextVar("onboarder_request", default=None)


def set_request_context(context: RequestContext | None) -> object:
    return _current.set(context)


def reset_request_context(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def get_request_context() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str | None:
    context = _current.get()
    return context.request_id if context else None
