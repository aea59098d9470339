"""Unauthenticated endpoints for orchestrators and monitoring."""

from __future__ import annotations

import logging
from typing import Any

from anyio import CapacityLimiter, fail_after, to_thread
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import problem_response
from app.core.migrations import current_revision, head_revision
from app.core.openapi import problem

router = APIRouter(tags=["operations"])
logger = logging.getLogger(__name__)


# /healthz and /metrics are async and touch no database: they answer from the event loop,
# never behind a worker thread or a pooled connection, however loaded the service is.
@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


READINESS_TIMEOUT_SECONDS = 3.0
# The readiness check's own thread, so that it never queues behind busy request threads.
_readiness_threads = CapacityLimiter(1)


@router.get(
    "/readyz",
    response_model=None,
    responses={
        503: problem(
            503,
            "Not ready: the database cannot be reached (`database_unreachable`) or its schema "
            "is not the one the code expects (`schema_behind`).",
        )
    },
)
async def readyz(request: Request) -> Any:
    engine = request.app.state.db.engine
    head = head_revision()

    def check() -> str | None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return current_revision(engine)

    try:
        with fail_after(READINESS_TIMEOUT_SECONDS):
            current = await to_thread.run_sync(
                check, limiter=_readiness_threads, abandon_on_cancel=True
            )
    except (SQLAlchemyError, TimeoutError) as exc:
        logger.warning("readiness check: database unreachable: %s", type(exc).__name__)
        return problem_response(
            status=503,
            code="database_unreachable",
            title="Service Unavailable",
            detail=f"The database did not answer within {READINESS_TIMEOUT_SECONDS:g} s."
            if isinstance(exc, TimeoutError)
            else "The database cannot be reached.",
            hint="Check ONBOARDER_DATABASE_URL and that the database server is up.",
        )
    if current != head:
        return problem_response(
            status=503,
            code="schema_behind",
            title="Service Unavailable",
            detail=f"The database schema is at {current or 'nothing'}, the code expects {head}.",
            hint="Run 'onboarder migrate'.",
            schema_revision=current,
            expected_revision=head,
        )
    return {"status": "ready", "database": "ok", "schema_revision": current}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )
