"""What changed between two readings of a stage: operations added, removed, or let in by
other means, and whether the stage became more or less exposed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.integrations.aws.definitions import API_KEY_ONLY, PUBLIC

# How far an operation is open to the internet: more is worse. An operation that reaches
# public or api_key_only from anything lower is an exposure increase.
_OPENNESS = {"authenticated": 0, "cors_preflight": 1, API_KEY_ONLY: 2, PUBLIC: 3}
_UNAUTHENTICATED = {PUBLIC, API_KEY_ONLY}

OperationKey = tuple[str, str]  # (method, path)


def _key(operation: dict[str, Any]) -> OperationKey:
    return (str(operation["method"]), str(operation["path"]))


def _view(operation: dict[str, Any]) -> dict[str, Any]:
    return {
        "method": operation["method"],
        "path": operation["path"],
        "exposure": operation.get("exposure"),
        "authorizer_type": operation.get("authorizer_type"),
    }


def _access(operation: dict[str, Any]) -> dict[str, Any]:
    return {
        "exposure": operation.get("exposure"),
        "authorizer_type": operation.get("authorizer_type"),
    }


@dataclass(frozen=True)
class OperationsDiff:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # {method, path, before, after}
    # {method, path, before (None when new), after}: exposure moved up to public/api_key_only
    increased: list[dict[str, Any]] = field(default_factory=list)
    # ... or down from public/api_key_only
    decreased: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def _more_open(before: str | None, after: str) -> bool:
    rank_before = -1 if before is None else _OPENNESS.get(before, 0)
    return after in _UNAUTHENTICATED and _OPENNESS.get(after, 0) > rank_before


def _less_open(before: str, after: str | None) -> bool:
    rank_after = -1 if after is None else _OPENNESS.get(after, 0)
    return before in _UNAUTHENTICATED and rank_after < _OPENNESS.get(before, 0)


def diff_operations(
    before: Iterable[dict[str, Any]], after: Iterable[dict[str, Any]]
) -> OperationsDiff:
    """Operations are told apart by method and path; what lets a caller in is their
    exposure and their authorizer's type."""
    old = {_key(operation): operation for operation in before}
    new = {_key(operation): operation for operation in after}
    result = OperationsDiff()
    for key, operation in new.items():
        exposure = operation.get("exposure") or PUBLIC
        if key not in old:
            result.added.append(_view(operation))
            if _more_open(None, exposure):
                result.increased.append(
                    {"method": key[0], "path": key[1], "before": None, "after": exposure}
                )
            continue
        was = old[key]
        if _access(was) == _access(operation):
            continue
        result.changed.append(
            {"method": key[0], "path": key[1], "before": _access(was), "after": _access(operation)}
        )
        previous = was.get("exposure") or PUBLIC
        movement = {"method": key[0], "path": key[1], "before": previous, "after": exposure}
        if _more_open(previous, exposure):
            result.increased.append(movement)
        elif _less_open(previous, exposure):
            result.decreased.append(movement)
    for key, operation in old.items():
        if key not in new:
            result.removed.append(_view(operation))
            previous = operation.get("exposure") or PUBLIC
            if _less_open(previous, None):
                result.decreased.append(
                    {"method": key[0], "path": key[1], "before": previous, "after": None}
                )
    for listing in (
        result.added,
        result.removed,
        result.changed,
        result.increased,
        result.decreased,
    ):
        listing.sort(key=lambda entry: (entry["path"], entry["method"]))
    return result


def describe(operations: list[dict[str, Any]], *, limit: int = 3) -> str:
    """`GET /orders, POST /orders and 2 more` for a summary a person reads."""
    names = [f"{entry['method']} {entry['path']}" for entry in operations]
    if len(names) <= limit:
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
