"""Request ids, the access log line, Prometheus metrics, and the last-resort 500."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.context import RequestContext, reset_request_context, set_request_context
from app.core.errors import problem_response

access_logger = logging.getLogger("onboarder.access")
error_logger = logging.getLogger("onboarder.errors")

_INCOMING_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "onboarder_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "onboarder_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        # Webhook deliveries made by this process's scheduler (embedded, or `onboarder
        # scheduler` with ONBOARDER_SCHEDULER_METRICS_PORT).
        self.webhook_attempts = Counter(
            "onboarder_webhook_delivery_attempts",
            "Webhook delivery attempts by outcome: delivered, failed_attempt (retried later), "
            "and failed (the last attempt of a delivery failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.webhook_oldest_pending = Gauge(
            "onboarder_webhook_oldest_pending_seconds",
            "Age of the oldest pending delivery to an enabled webhook (0: none pending).",
            registry=self.registry,
        )
        self.webhook_oldest_due = Gauge(
            "onboarder_webhook_oldest_due_seconds",
            "How long the most overdue pending delivery has waited past its due time (the "
            "delivery worker falling behind; 0: none overdue).",
            registry=self.registry,
        )


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path", None)
    regex = getattr(route, "path_regex", None)
    if not isinstance(template, str) or regex is None:
        # One label for every unmatched path, so scanners cannot blow up metric cardinality.
        return "unmatched"
    # Routers included with a prefix may report their path without it: put the (static)
    # prefix back by finding where the route's own pattern starts matching.
    path: str = scope.get("path", "")
    for index, char in enumerate(path):
        if char == "/" and regex.match(path[index:]):
            return path[:index] + template
    return template


class RequestMiddleware:
    """Outermost application middleware: every response, even a crash, gets an X-Request-ID."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = _incoming_request_id(scope)
        context = RequestContext(request_id=incoming or uuid.uuid4().hex)
        token = set_request_context(context)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", context.request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            error_logger.exception("unhandled error")
            if response_started:
                raise
            status = 500
            response = problem_response(
                status=500,
                code="internal_error",
                title="Internal Server Error",
                detail="The service failed to handle this request. The error has been logged.",
                hint=f"If it persists, report request id {context.request_id}.",
            )
            await response(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            route = _route_template(scope)
            method = scope.get("method", "")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(duration)
            access_logger.info(
                "%s %s %s %.1fms",
                method,
                route,
                status,
                duration * 1000,
                extra=_access_fields(scope, context, status, duration, route),
            )
            reset_request_context(token)


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = bytes(value).decode("latin-1")
            if _INCOMING_REQUEST_ID.fullmatch(candidate):
                return candidate
    return None


def _access_fields(
    scope: Scope, context: RequestContext, status: int, duration: float, route: str
) -> dict[str, Any]:
    return {
        "method": scope.get("method"),
        "route": route,
        "status": status,
        "duration_ms": round(duration * 1000, 2),
        "tenant_id": str(context.tenant_id) if context.tenant_id else None,
        "request_id": context.request_id,
    }
