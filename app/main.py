"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext

from anyio import to_thread
from fastapi import APIRouter, FastAPI

from app.applications.router import router as applications_router
from app.connections.router import router as connections_router
from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.errors import register_error_handlers
from app.core.logging import configure_logging
from app.core.migrations import upgrade
from app.core.observability import Metrics, RequestMiddleware
from app.core.openapi import document_problems, install_openapi
from app.core.routing import MethodNotAllowedMiddleware
from app.core.security import build_secret_box
from app.discovery.router import router as discovery_router
from app.discovery.service import DiscoveryCache
from app.events.router import router as events_router
from app.ingest.router import router as ingest_router
from app.integrations.aws.discovery import DiscoveryEngine
from app.lifecycle.router import router as lifecycle_router
from app.operations.router import router as operations_router
from app.schedules.router import router as schedules_router
from app.scope.router import router as scope_router
from app.setup.router import router as setup_router
from app.tenants.router import router as tenants_router
from app.web.docs import install_docs
from app.web.router import router as web_router
from app.webhooks.router import router as webhooks_router

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


# Work that lives as long as the app (the embedded scheduler), entered after migrations.
Background = Callable[[FastAPI], AbstractContextManager[object]]


def create_app(
    settings: Settings | None = None,
    *,
    configure_logs: bool = True,
    background: Background | None = None,
) -> FastAPI:
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(log_format=settings.log_format, level=settings.log_level)
    # Fails here, before anything listens, when production mode has no encryption keys.
    secret_box = build_secret_box(settings)
    database = Database.for_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The worker threads of sync endpoints and dependencies, sized with the pool
        # (Settings.pool_size has a connection for each).
        to_thread.current_default_thread_limiter().total_tokens = settings.http_threads
        if settings.auto_migrate:
            upgrade(settings.database_url)
        try:
            with background(_app) if background else nullcontext():
                yield
        finally:
            database.dispose()

    app = FastAPI(
        title="Onboarder",
        version="0.5.0",
        summary="Discovers Amazon API Gateway APIs and onboards them for security testing.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        # Served by install_docs from local files, not a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = database
    app.state.secret_box = secret_box
    app.state.metrics = Metrics()
    app.state.discovery = DiscoveryEngine(max_in_flight=settings.aws_max_concurrency)
    app.state.discovery_cache = DiscoveryCache(settings.discovery_cache_seconds)

    register_error_handlers(app)
    # Inside RequestMiddleware (added last, so outermost): a 405 gets a request id and a log line.
    app.add_middleware(MethodNotAllowedMiddleware)
    app.add_middleware(RequestMiddleware, metrics=app.state.metrics)

    api = APIRouter(prefix=API_PREFIX)
    for router in (
        tenants_router,
        setup_router,
        connections_router,
        discovery_router,
        applications_router,
        lifecycle_router,
        schedules_router,
        events_router,
        webhooks_router,
        scope_router,
        ingest_router,
    ):
        api.include_router(document_problems(router))
    app.include_router(api)
    app.include_router(operations_router)
    app.include_router(web_router)
    install_docs(app, prefix=API_PREFIX)
    install_openapi(app)
    return app
