"""The OpenAPI document says what the service answers, errors included.

Every error is application/problem+json (`app.core.errors`). Which errors a route can answer
follows mostly from what it depends on, so it is computed here, in one place, rather than
written on each route:

- 400 when it takes a body (FastAPI's answer to one that is not UTF-8);
- 401 when it is authenticated (a security scheme among its dependencies);
- 404 when its path names a resource;
- 422 when it takes a body, a query or a path parameter (FastAPI's own 422, which is not the
  shape this service sends, is replaced);
- 503 `database_busy` or `database_unavailable` (with `Retry-After`) when it uses the
  database;
- 500 always (the last-resort handler of `app.core.observability`).

What only the domain knows (409, AWS's 502 and 504) is declared where the route is, with
`problems(...)` as `responses=` of the route or of its router.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema, models_json_schema

from app.core.db import get_db_session
from app.core.errors import PROBLEM_MEDIA_TYPE

REF_PREFIX = "#/components/schemas/"


class FieldError(BaseModel):
    field: str = Field(
        description="The field, dotted when nested and indexed in lists, e.g. `schedule.hour`, "
        "`regions[0]`; `body` for the body as a whole.",
        examples=["access_key_id"],
    )
    message: str = Field(examples=["must be an IAM user's access key id"])


def string_pattern(pattern: str) -> WithJsonSchema:
    """States in the document that a string matches `pattern`, for a rule the code checks with
    its own message (pydantic's `pattern=` would check first, with pydantic's message)."""
    return WithJsonSchema({"type": "string", "pattern": pattern})


def _optional(description: str) -> Any:
    """A member that the answer leaves out when it has no value (never sent as null)."""

    def drop_default(schema: dict[str, Any]) -> None:
        schema.pop("default", None)

    return Field(default=None, description=description, json_schema_extra=drop_default)


class Problem(BaseModel):
    """An error answer (RFC 9457 problem details), sent as `application/problem+json`."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        pattern=r"^urn:onboarder:problem:",
        description="`urn:onboarder:problem:` followed by `code`.",
        examples=["urn:onboarder:problem:not_found"],
    )
    title: str = Field(description="The HTTP status, in words.", examples=["Not found"])
    status: int = Field(ge=400, le=599, description="The HTTP status code of the answer.")
    detail: str = Field(description="What went wrong with this request.")
    code: str = Field(
        pattern=r"^[a-z0-9_]+$",
        description="A stable snake_case name of the error, e.g. `not_found`, `conflict`, "
        "`access_denied`, `aws_timeout`, `database_busy`.",
        examples=["not_found"],
    )
    hint: str | SkipJsonSchema[None] = _optional(
        "What to do about it, when there is something to do."
    )
    request_id: str | SkipJsonSchema[None] = _optional(
        "The request's id, as in the `X-Request-ID` header."
    )
    application_id: uuid.UUID | SkipJsonSchema[None] = _optional(
        "409 of POST /applications: the application the API is onboarded as already."
    )
    run_id: uuid.UUID | SkipJsonSchema[None] = _optional(
        "409 `run_in_progress`: the run under way."
    )


class ValidationProblem(Problem):
    """A request that is not valid (422 `validation_error`; a webhook URL that may not be
    called, `webhook_url_not_allowed`): `errors` names each field."""

    status: Literal[422]
    code: Literal["validation_error", "webhook_url_not_allowed"]
    errors: list[FieldError] = Field(min_length=1)


_DESCRIPTIONS: dict[int, str] = {
    400: "The body cannot be read: it is not text in UTF-8 (`bad_request`). A body that is "
    "text but not JSON is a 422.",
    401: "No API key, or one that is unknown or revoked (`unauthorized`).",
    404: "Nothing of this tenant's has that id (`not_found`); another tenant's resource is "
    "answered the same way as one that does not exist.",
    409: "The request conflicts with what exists; `code` and `hint` say how.",
    422: "The request is not valid (`validation_error`); `errors` names each field.",
    500: "The service failed (`internal_error`); `hint` holds the request id to report.",
    502: "AWS refused or failed the request; `code` names why (e.g. `access_denied`, "
    "`role_not_assumable`, `throttled`, `aws_unreachable`) and `hint` what to fix.",
    503: "The database is saturated (`database_busy`) or cannot be reached "
    "(`database_unavailable`); nothing was done. Retry after `Retry-After` seconds.",
    504: "AWS did not answer within the request's deadline (`aws_timeout`).",
}

_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "`Bearer`: the API key goes in the Authorization header.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    503: {
        "Retry-After": {
            "description": "Seconds to wait before retrying (`database_busy`, "
            "`database_unavailable`).",
            "schema": {"type": "integer", "minimum": 0},
        }
    },
}


def problem(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response object of a problem answer with this status."""
    schema = ValidationProblem if status == 422 else Problem
    response: dict[str, Any] = {
        "description": description or _DESCRIPTIONS.get(status, "An error."),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": REF_PREFIX + schema.__name__}}},
    }
    if status in _HEADERS:
        response["headers"] = _HEADERS[status]
    return response


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or a router: problem answers with these statuses."""
    return {status: problem(status) for status in statuses}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _dependants(child)


def _takes_input(dependant: Dependant) -> bool:
    return bool(
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
    )


def _computed_statuses(route: APIRoute) -> list[int]:
    dependants = list(_dependants(route.dependant))
    statuses = []
    if any(isinstance(d.call, SecurityBase) for d in dependants):
        statuses.append(401)
    if any(d.body_params for d in dependants):
        statuses.append(400)
    if any(d.path_params for d in dependants):
        statuses.append(404)
    if any(_takes_input(d) for d in dependants):
        statuses.append(422)
    statuses.append(500)
    if any(d.call is get_db_session for d in dependants):
        statuses.append(503)
    return statuses


def document_problems(router: APIRouter) -> APIRouter:
    """Declare on each route of `router` the problems it can answer (see the module's doc).

    What the route or the router declares already wins over what is computed. Declaring 422
    also keeps FastAPI from adding its own 422 (`HTTPValidationError`), which is not the
    shape this service sends.
    """
    declared_by_router = {str(status) for status in router.responses}
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        declared = declared_by_router | {str(status) for status in route.responses}
        computed = [s for s in _computed_statuses(route) if str(s) not in declared]
        route.responses = {**problems(*computed), **route.responses}
    return router


def _problem_schemas() -> dict[str, Any]:
    _, top = models_json_schema(
        [(Problem, "serialization"), (ValidationProblem, "serialization")],
        ref_template=REF_PREFIX + "{model}",
    )
    schemas: dict[str, Any] = top["$defs"]
    return schemas


_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _replace_fastapi_422(document: dict[str, Any]) -> None:
    """A route that `document_problems` did not see still gets FastAPI's own 422, which is not
    what the service sends (`app.core.errors` answers a ValidationProblem): replace it."""
    fastapi_ref = REF_PREFIX + _FASTAPI_VALIDATION_SCHEMAS[0]
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            content = responses.get("422", {}).get("content", {})
            if content.get("application/json", {}).get("schema", {}).get("$ref") == fastapi_ref:
                responses["422"] = problem(422)
    schemas = document.get("components", {}).get("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)


def install_openapi(app: FastAPI) -> None:
    """Generate the document as FastAPI does, with the service's 422, and the problem schemas
    the responses refer to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            _replace_fastapi_422(document)
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in _problem_schemas().items():
                schemas.setdefault(name, schema)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
