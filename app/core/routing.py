"""Which methods a path answers: a 405 lists all of them, and a path that names a route of its
own is not taken for a parameter of another.

Starlette's router answers 405 with the methods of the first route whose path matched, and
each method of a path is a route of its own: PUT /applications/{id} said `Allow: GET`
though DELETE is there too. A parameter matches any segment, so PATCH /connections/test went
to PATCH /connections/{connection_id} (a 422: "test" is no UUID) although /connections/test is
a route, which takes POST only. Here the routes of a path are those of its most specific
templates (a literal segment is more specific than a parameter, from left to right), and a
method none of them has is a 405 whose `Allow` names every method they have.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import routing as fastapi_routing
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

try:  # what Starlette's router matches routes against (the path below the root path)
    from starlette._utils import get_route_path
except ImportError:  # pragma: no cover - a private helper that a Starlette release may move

    def get_route_path(scope: Scope) -> str:
        path: str = scope["path"]
        return path


@dataclass(frozen=True)
class RouteEntry:
    regex: re.Pattern[str]
    template: str
    methods: frozenset[str] | None  # None: a mount or a catch-all, the router decides
    route: BaseRoute
    specificity: tuple[int, ...]


def _routes(routes: list[BaseRoute]) -> Iterator[Any]:
    """Every route with its full path, whether FastAPI keeps included routers nested or not."""
    iterate = getattr(fastapi_routing, "iter_route_contexts", None)
    if iterate is None:  # pragma: no cover - FastAPI flattens included routes
        yield from routes
    else:
        yield from iterate(routes)


def _specificity(template: str) -> tuple[int, ...]:
    return tuple(0 if segment.startswith("{") else 1 for segment in template.split("/"))


def route_table(routes: list[BaseRoute]) -> list[RouteEntry]:
    table = []
    for route in _routes(routes):
        regex = getattr(route, "path_regex", None)
        if regex is None:
            continue
        methods = getattr(route, "methods", None)
        table.append(
            RouteEntry(
                regex=regex,
                template=route.path_format,
                methods=frozenset(methods) if methods else None,
                route=getattr(route, "original_route", route),
                specificity=_specificity(route.path_format),
            )
        )
    return table


def path_methods(table: list[RouteEntry], path: str) -> tuple[frozenset[str], BaseRoute] | None:
    """The methods `path` answers and one of its routes; None when no route with methods
    matches it (nothing there, or a mount: the router decides)."""
    matching = [route for route in table if route.regex.match(path)]
    if not matching or any(route.methods is None for route in matching):
        return None
    most_specific = max(route.specificity for route in matching)
    chosen = [route for route in matching if route.specificity == most_specific]
    return frozenset().union(*(route.methods or () for route in chosen)), chosen[0].route


class MethodNotAllowedMiddleware:
    """Answers 405 (through the app's handler of HTTP errors) before the router would pick a
    route of a less specific path, or name only some of the methods."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Built at the first request, again when routes were added to the app since.
        self._table: tuple[int, list[RouteEntry]] | None = None

    def _routes_of(self, application: Any) -> list[RouteEntry]:
        if self._table is None or self._table[0] != len(application.routes):
            self._table = (len(application.routes), route_table(application.routes))
        return self._table[1]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            application = scope["app"]
            found = path_methods(self._routes_of(application), get_route_path(scope))
            if found is not None and scope["method"] not in found[0]:
                methods, route = found
                scope["route"] = route  # the access log and metrics name its template
                exc = HTTPException(405, headers={"Allow": ", ".join(sorted(methods))})
                response = await _error_response(application, Request(scope, receive), exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _error_response(application: Any, request: Request, exc: HTTPException) -> Response:
    handler = application.exception_handlers.get(HTTPException)
    if handler is None:  # pragma: no cover - app.core.errors registers one
        return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)
    response = handler(request, exc)
    if inspect.isawaitable(response):
        response = await response
    assert isinstance(response, Response)
    return response
