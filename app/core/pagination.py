"""Keyset pagination over (created_at, id): stable order, opaque cursors."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from app.core.errors import ValidationFailedError
from app.core.openapi import string_pattern

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
# Cursors are URL-safe base64 without padding.
CursorQuery = Annotated[
    Annotated[str, string_pattern(r"^[A-Za-z0-9_-]*$")] | None,
    Query(description="next_cursor of the previous page"),
]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(created_at: datetime, id_: uuid.UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(id_)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def encode_position(position: int) -> str:
    """A cursor at a place in a sequence (the event feed's `seq`)."""
    return base64.urlsafe_b64encode(json.dumps([str(position)]).encode()).decode().rstrip("=")


def decode_position(cursor: str) -> int:
    values = _cursor_strings(cursor)
    try:
        [position] = values
        return int(position)
    except ValueError as exc:
        raise _not_a_cursor() from exc


def _not_a_cursor() -> ValidationFailedError:
    return ValidationFailedError(
        "cursor", "is not a cursor this service gave out", hint="Start again without it."
    )


def _cursor_strings(cursor: str) -> list[str]:
    """What a cursor this service gave out holds: a JSON list of strings."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except ValueError as exc:
        raise _not_a_cursor() from exc
    # Anything else decodes too (base64 of any JSON) but would fail further on.
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise _not_a_cursor()
    return values


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    values = _cursor_strings(cursor)
    try:
        created_at, id_ = values
        return datetime.fromisoformat(created_at), uuid.UUID(id_)
    except ValueError as exc:
        raise _not_a_cursor() from exc


def paginate_list(
    items: Sequence[T], key: Callable[[T], tuple[str, ...]], *, limit: int, cursor: str | None
) -> tuple[list[T], str | None]:
    """Keyset pages over a list computed in memory (e.g. what AWS listed), ordered by `key`."""
    ordered = sorted(items, key=key)
    if cursor:
        after = tuple(_cursor_strings(cursor))
        ordered = [item for item in ordered if key(item) > after]
    page = ordered[:limit]
    next_cursor = None
    if len(ordered) > limit:
        raw = json.dumps(list(key(page[-1]))).encode()
        next_cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return page, next_cursor


def paginate(
    session: Session,
    statement: Select[Any],
    model: Any,
    *,
    limit: int,
    cursor: str | None,
    newest_first: bool = False,
    time_column: str = "created_at",
) -> tuple[list[Any], str | None]:
    """A keyset page ordered by (`time_column`, id)."""
    at = getattr(model, time_column)
    if cursor:
        stamp, id_ = decode_cursor(cursor)
        if newest_first:
            statement = statement.where(or_(at < stamp, and_(at == stamp, model.id < id_)))
        else:
            statement = statement.where(or_(at > stamp, and_(at == stamp, model.id > id_)))
    order = (at.desc(), model.id.desc()) if newest_first else (at, model.id)
    rows = list(session.scalars(statement.order_by(*order).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(getattr(rows[-1], time_column), rows[-1].id)
    return rows, next_cursor
