"""Domain errors, and their one translation to application/problem+json (RFC 9457)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.context import current_request_id

logger = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"


class DomainError(Exception):
    """An error a caller can cause or act on. Services raise these; they never import FastAPI."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"
    hint: str | None = None

    def __init__(
        self,
        detail: str,
        *,
        hint: str | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if hint is not None:
            self.hint = hint
        if code is not None:
            self.code = code
        self.extra = extra or {}


class NotFoundError(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class ConflictError(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class UnauthorizedError(DomainError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"
    hint = "Send 'Authorization: Bearer <API key>' with a key created by 'onboarder keys create'."


class UpstreamError(DomainError):
    """A service the request depends on (AWS) failed; `code` and `hint` say what to fix."""

    status = 502
    code = "upstream_error"
    title = "Upstream service failed"


class UpstreamTimeoutError(UpstreamError):
    """A service the request depends on (AWS) did not answer within the request's deadline."""

    status = 504
    title = "Upstream service did not answer in time"


class ValidationFailedError(DomainError):
    """A rule on the input that the schema alone cannot express; names the offending field."""

    status = 422
    code = "validation_error"
    title = "Invalid input"

    def __init__(self, field: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"{field}: {message}", hint=hint)
        self.errors = [{"field": field, "message": message}]


def problem_body(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    hint: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"urn:onboarder:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if hint:
        body["hint"] = hint
    request_id = current_request_id()
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def problem_response(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    hint: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status=status, code=code, title=title, detail=detail, hint=hint, **extra),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


_HTTP_CODES = {
    401: ("unauthorized", UnauthorizedError.hint),
    403: ("forbidden", None),
    404: ("not_found", "Check the path; every path is under /api/v1."),
    405: ("method_not_allowed", None),
    406: ("not_acceptable", None),
    413: ("payload_too_large", None),
    415: ("unsupported_media_type", "Send the body as JSON with Content-Type: application/json."),
}


# Hints for validation errors of a custom type (a domain registers its own): a rule whose fix
# is not in the field itself.
VALIDATION_HINTS: dict[str, str] = {}
GENERIC_VALIDATION_HINT = "Correct the fields listed in 'errors' and send the request again."

# Values of discriminated-union tags (e.g. credential types): pydantic puts the tag in an
# error's location, but for the user the field is the same whatever the variant.
UNION_TAGS: set[str] = set()


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in loc]
    parts = [
        part
        for index, part in enumerate(parts)
        if not (part in UNION_TAGS and index < len(parts) - 1)
    ]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        if parts[0] == "body" and len(parts) > 1:
            parts = parts[1:]
        elif parts[0] != "body":
            parts = parts[1:] or parts
    return ".".join(parts) if parts else "body"


def _validation_message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    # pydantic prefixes custom validator messages with "Value error, "
    return message.removeprefix("Value error, ")


def _validation_entry(error: dict[str, Any]) -> dict[str, str]:
    context = error.get("ctx") or {}
    if error.get("type") in {"union_tag_invalid", "union_tag_not_found"}:
        discriminator = str(context.get("discriminator", "type")).strip("'\"")
        expected = str(context.get("expected_tags", "")).replace("'", "")
        message = "is required" if error.get("type") == "union_tag_not_found" else "is not known"
        if expected:
            message += f"; one of: {expected}"
        prefix = _field_name(tuple(error.get("loc", ())))
        field = discriminator if prefix == "body" else f"{prefix}.{discriminator}"
        return {"field": field, "message": message}
    return {
        "field": _field_name(tuple(error.get("loc", ()))),
        "message": _validation_message(error),
    }


async def _domain_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    extra = dict(exc.extra)
    if isinstance(exc, ValidationFailedError):
        extra["errors"] = exc.errors
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        hint=exc.hint,
        headers=headers,
        **extra,
    )


async def _validation_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    errors = [_validation_entry(error) for error in raw]
    fields = ", ".join(dict.fromkeys(error["field"] for error in errors))
    hints = [VALIDATION_HINTS[e["type"]] for e in raw if e.get("type") in VALIDATION_HINTS]
    return problem_response(
        status=422,
        code="validation_error",
        title="Invalid input",
        detail=f"The request is not valid: {fields}.",
        hint=" ".join(dict.fromkeys([*hints, GENERIC_VALIDATION_HINT])),
        errors=errors,
    )


async def _http_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code, hint = _HTTP_CODES.get(
        status, (HTTPStatus(status).phrase.lower().replace(" ", "_"), None)
    )
    title = HTTPStatus(status).phrase
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else title
    if status == 404 and detail == title:
        detail = "There is nothing at this path."
    elif status == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        detail = f"{_request.method} is not allowed on this path; it allows {allowed}."
    headers = dict(exc.headers or {})
    return problem_response(
        status=status, code=code, title=title, detail=detail, hint=hint, headers=headers
    )


# How long a client is asked to wait before trying again: a saturated pool frees up in a
# moment; a database that is away takes longer to come back.
RETRY_AFTER_SECONDS = 1
UNAVAILABLE_RETRY_AFTER_SECONDS = 5


def database_problem(exc: sqlalchemy.exc.SQLAlchemyError) -> tuple[str, int] | None:
    """(code, Retry-After) for a database failure that is no fault of the request, or None."""
    if isinstance(exc, sqlalchemy.exc.TimeoutError):
        # Every connection stayed in use for the whole pool timeout.
        return "database_busy", RETRY_AFTER_SECONDS
    if isinstance(exc, sqlalchemy.exc.OperationalError) and "database is locked" in str(exc):
        # SQLite: another writer held the lock for the whole busy timeout.
        return "database_busy", RETRY_AFTER_SECONDS
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError) or (
        isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated
    ):
        # Refused, dropped, timed out connecting, or a statement cancelled by its timeout.
        return "database_unavailable", UNAVAILABLE_RETRY_AFTER_SECONDS
    return None


_DATABASE_ANSWERS = {
    "database_busy": (
        "Every database connection is in use; the request was not carried out.",
        "Retry after {retry} s. If it persists, the service needs more database connections "
        "(ONBOARDER_DB_POOL_SIZE) or fewer concurrent requests.",
    ),
    "database_unavailable": (
        "The database cannot be reached; the request was not carried out.",
        "Retry after {retry} s. If it persists, the operator should check that the database "
        "server is up and reachable (ONBOARDER_DATABASE_URL, /readyz).",
    ),
}


async def _database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, sqlalchemy.exc.SQLAlchemyError)
    found = database_problem(exc)
    if found is None:
        # A bug, not the database's state: the last-resort 500 with its traceback logged.
        raise exc
    code, retry = found
    # One line, no traceback: while the database is away every request says the same.
    logger.warning("%s: %s", code, type(exc).__name__)
    detail, hint = _DATABASE_ANSWERS[code]
    return problem_response(
        status=503,
        code=code,
        title="Service Unavailable",
        detail=detail,
        hint=hint.format(retry=retry),
        headers={"Retry-After": str(retry)},
    )


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(sqlalchemy.exc.SQLAlchemyError, _database_error_handler)
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
