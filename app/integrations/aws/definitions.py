"""An API's attack surface (each operation and what protects it) and its OpenAPI definition.

The surface is read from API Gateway's own configuration (REST resources and methods, HTTP and
WebSocket routes, and their authorizers), never from the exported document: an export can
leave out what the console shows, and WebSocket APIs have no export at all.

The definition is AWS's export where there is one: the stage's OpenAPI 3 export with the API
Gateway extensions for REST APIs, ExportApi for HTTP APIs. Where AWS gives none (WebSocket
APIs, or an export that fails), it is built from the same resources or routes.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from app.integrations.aws.apigateway import Call, ClientFor, DiscoveredApi, _v1_pages, _v2_pages
from app.integrations.aws.errors import AwsError

# Export failures after which a built definition is still worth having; anything else
# (throttling, an unreachable or refusing AWS) fails the onboarding with its own code.
FALLBACK_CODES = frozenset({"aws_error", "not_found", "access_denied"})
OPENAPI_3 = "openapi_3"
SWAGGER_2 = "swagger_2"
WEBSOCKET_METHOD = "WEBSOCKET"
_PATH_PARAMETER = re.compile(r"\{([^}/+]+)\+?\}")
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


@dataclass(frozen=True)
class Operation:
    """One operation a caller can invoke, and what it takes to be let in."""

    method: str  # GET, POST, ANY, ...; "WEBSOCKET" for a WebSocket route
    path: str  # /orders/{id}; the route key for WebSocket ($connect, sendMessage)
    authorization: str  # NONE | AWS_IAM | CUSTOM | COGNITO_USER_POOLS | JWT
    authorizer_type: str | None  # TOKEN | REQUEST | COGNITO_USER_POOLS | JWT | AWS_IAM | None
    authorizer_name: str | None
    api_key_required: bool

    @property
    def unauthenticated(self) -> bool:
        return self.authorization == "NONE" and not self.api_key_required

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "unauthenticated": self.unauthenticated}


@dataclass(frozen=True)
class Surface:
    operations: tuple[Operation, ...]

    @property
    def unauthenticated(self) -> int:
        return sum(operation.unauthenticated for operation in self.operations)

    @property
    def api_key(self) -> int:
        return sum(operation.api_key_required for operation in self.operations)

    @property
    def authorizer_types(self) -> dict[str, int]:
        """How many operations each kind of authorizer protects (AWS_IAM counts as one)."""
        counts = Counter(op.authorizer_type for op in self.operations if op.authorizer_type)
        return dict(sorted(counts.items()))


class DefinitionError(Exception):
    """AWS's definition cannot be used; `code` is stable, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Definition:
    document: dict[str, Any]
    format: str  # openapi_3 | swagger_2
    source: str  # aws_export | built
    stage: str | None = None  # the stage exported
    export_error: str | None = None  # why a built definition stands in for AWS's export


# ------------------------------------------------------------------------------ the surface
def _rest_operations(call: Call, client: Any, api_id: str) -> list[Operation]:
    authorizers = {a["id"]: a for a in _v1_pages(call, client.get_authorizers, restApiId=api_id)}
    resources = _v1_pages(call, client.get_resources, restApiId=api_id, embed=["methods"])
    operations = []
    for resource in sorted(resources, key=lambda r: r.get("path", "")):
        for http_method, method in sorted((resource.get("resourceMethods") or {}).items()):
            if "authorizationType" not in method:
                # Without `embed`, AWS names the methods only; ask for this one.
                method = call(
                    functools.partial(
                        client.get_method,
                        restApiId=api_id,
                        resourceId=resource["id"],
                        httpMethod=http_method,
                    )
                )
            authorization = method.get("authorizationType") or "NONE"
            authorizer = authorizers.get(method.get("authorizerId") or "")
            if authorization == "AWS_IAM":
                kind: str | None = "AWS_IAM"
            elif authorization in {"CUSTOM", "COGNITO_USER_POOLS"}:
                kind = (authorizer or {}).get("type") or authorization
            else:
                kind = None
            operations.append(
                Operation(
                    method=http_method.upper(),
                    path=resource.get("path", "/"),
                    authorization=authorization,
                    authorizer_type=kind,
                    authorizer_name=(authorizer or {}).get("name") if kind != "AWS_IAM" else None,
                    api_key_required=bool(method.get("apiKeyRequired")),
                )
            )
    return operations


def _route_method_and_path(route_key: str, protocol: str) -> tuple[str, str]:
    if protocol == "WEBSOCKET":
        return WEBSOCKET_METHOD, route_key
    if route_key == "$default":
        # The catch-all route: any method on any path no other route matches.
        return "ANY", "/{proxy+}"
    method, _, path = route_key.partition(" ")
    return method.upper(), path or "/"


def _v2_operations(call: Call, client: Any, api: DiscoveredApi) -> list[Operation]:
    routes = _v2_pages(call, client.get_routes, ApiId=api.api_id)
    # Only the authorizers routes refer to, each asked for once: usually one or two, and
    # none for an API without authorization.
    referenced = sorted({r["AuthorizerId"] for r in routes if r.get("AuthorizerId")})
    authorizers = {
        authorizer_id: call(
            functools.partial(client.get_authorizer, ApiId=api.api_id, AuthorizerId=authorizer_id)
        )
        for authorizer_id in referenced
    }
    operations = []
    for route in sorted(routes, key=lambda r: r.get("RouteKey", "")):
        method, path = _route_method_and_path(route.get("RouteKey", ""), api.protocol)
        authorization = route.get("AuthorizationType") or "NONE"
        authorizer = authorizers.get(route.get("AuthorizerId") or "") or {}
        kind: str | None
        if authorization == "AWS_IAM":
            kind = "AWS_IAM"
        elif authorization in {"CUSTOM", "JWT"}:
            kind = authorizer.get("AuthorizerType") or (
                "REQUEST" if authorization == "CUSTOM" else "JWT"
            )
        else:
            kind = None
        operations.append(
            Operation(
                method=method,
                path=path,
                authorization=authorization,
                authorizer_type=kind,
                authorizer_name=authorizer.get("Name") if kind != "AWS_IAM" else None,
                api_key_required=bool(route.get("ApiKeyRequired")),
            )
        )
    if api.protocol == "WEBSOCKET":
        operations = _behind_connect(operations)
    return operations


def _behind_connect(operations: list[Operation]) -> list[Operation]:
    """A WebSocket route is only reachable over a connection that passed $connect.

    API Gateway authorizes (and checks the API key of) the $connect route only; every other
    route is as protected as $connect is, whatever its own AuthorizationType says.
    """
    connect = next((op for op in operations if op.path == "$connect"), None)
    if connect is None:
        return operations
    return [
        op
        if op is connect
        else Operation(
            method=op.method,
            path=op.path,
            authorization=connect.authorization,
            authorizer_type=connect.authorizer_type,
            authorizer_name=connect.authorizer_name,
            api_key_required=connect.api_key_required,
        )
        for op in operations
    ]


def attack_surface(*, call: Call, client_for: ClientFor, api: DiscoveredApi) -> Surface:
    if api.protocol == "REST":
        operations = _rest_operations(call, client_for("apigateway"), api.api_id)
    else:
        operations = _v2_operations(call, client_for("apigatewayv2"), api)
    return Surface(tuple(operations))


# ------------------------------------------------------------------------------ definition
def _body_bytes(body: Any, max_bytes: int) -> bytes:
    data: bytes = body.read(max_bytes + 1) if hasattr(body, "read") else bytes(body or b"")
    if len(data) > max_bytes:
        raise DefinitionError(
            "definition_too_large",
            f"AWS's export is larger than the {max_bytes} bytes this service accepts.",
        )
    return data


def parse_definition(data: bytes) -> tuple[dict[str, Any], str]:
    """The document and its format; DefinitionError if it is not OpenAPI 3 or Swagger 2.0."""
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DefinitionError(
            "definition_unparsable", f"AWS's export is not valid JSON ({exc})."
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise DefinitionError(
            "definition_unparsable", "AWS's export has no 'paths' object: it is not OpenAPI."
        )
    if str(document.get("openapi", "")).startswith("3."):
        return document, OPENAPI_3
    if str(document.get("swagger", "")) == "2.0":
        return document, SWAGGER_2
    raise DefinitionError(
        "definition_unparsable",
        "AWS's export declares neither 'openapi: 3.x' nor 'swagger: 2.0'.",
    )


def _export(client_for: ClientFor, api: DiscoveredApi, stage: str) -> Any:
    if api.protocol == "REST":
        return client_for("apigateway").get_export(
            restApiId=api.api_id,
            stageName=stage,
            exportType="oas30",
            parameters={"extensions": "apigateway"},
            accepts="application/json",
        )["body"]
    return client_for("apigatewayv2").export_api(
        ApiId=api.api_id,
        Specification="OAS30",
        OutputType="JSON",
        StageName=stage,
        IncludeExtensions=True,
    )["body"]


def fetch_definition(
    *,
    call: Call,
    client_for: ClientFor,
    api: DiscoveredApi,
    stage: str | None,
    surface: Surface,
    max_bytes: int,
) -> Definition:
    """AWS's export of `stage`, or a definition built from the surface where AWS has none."""
    if api.protocol == "WEBSOCKET":
        return Definition(build_definition(api, surface), OPENAPI_3, "built", stage)
    if stage is None:
        reason = "No stage was chosen to export."
        return Definition(build_definition(api, surface), OPENAPI_3, "built", export_error=reason)
    try:
        # Read inside the call: a connection dropped mid-body is retried like any failure.
        data = call(lambda: {"data": _body_bytes(_export(client_for, api, stage), max_bytes)})[
            "data"
        ]
    except AwsError as exc:
        if exc.failure.code not in FALLBACK_CODES:
            raise
        built = build_definition(api, surface)
        return Definition(built, OPENAPI_3, "built", stage, export_error=exc.failure.message)
    document, format_ = parse_definition(data)
    return Definition(document, format_, "aws_export", stage)


def _security_scheme(operation: Operation) -> tuple[str, dict[str, Any]] | None:
    if operation.authorization == "AWS_IAM":
        return "sigv4", {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    if operation.authorizer_type is None:
        return None
    name = operation.authorizer_name or operation.authorizer_type.lower()
    if operation.authorizer_type == "JWT":
        return name, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    return name, {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "x-amazon-apigateway-authtype": operation.authorizer_type.lower(),
    }


def _requirements(operation: Operation, schemes: dict[str, dict[str, Any]]) -> list[Any]:
    requirement: dict[str, list[str]] = {}
    scheme = _security_scheme(operation)
    if scheme is not None:
        schemes[scheme[0]] = scheme[1]
        requirement[scheme[0]] = []
    if operation.api_key_required:
        schemes["api_key"] = {"type": "apiKey", "name": "x-api-key", "in": "header"}
        requirement["api_key"] = []
    return [requirement] if requirement else []


def build_definition(api: DiscoveredApi, surface: Surface) -> dict[str, Any]:
    """An OpenAPI 3 document from the operations: paths, methods, path parameters, security."""
    schemes: dict[str, dict[str, Any]] = {}
    paths: dict[str, dict[str, Any]] = {}
    routes: dict[str, Any] = {}
    for op in surface.operations:
        entry: dict[str, Any] = {
            "security": _requirements(op, schemes),
            "responses": {"default": {"description": "Response of the integration"}},
        }
        if op.api_key_required:
            entry["x-amazon-apigateway-api-key-required"] = True
        if op.method == WEBSOCKET_METHOD:
            routes[op.path] = entry
            continue
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PATH_PARAMETER.findall(op.path)
        ]
        if parameters:
            entry["parameters"] = parameters
        method = op.method.lower()
        key = method if method in _HTTP_METHODS else "x-amazon-apigateway-any-method"
        paths.setdefault(op.path, {})[key] = entry
    version = api.created_at.date().isoformat() if api.created_at else "1"
    document: dict[str, Any] = {
        "openapi": "3.0.1",
        "info": {"title": api.name, "version": version},
        "paths": paths,
        "components": {"securitySchemes": schemes},
        "x-onboarder-built-from": "resources" if api.protocol == "REST" else "routes",
    }
    if api.description:
        document["info"]["description"] = api.description
    if routes:
        document["x-amazon-apigateway-websocket-routes"] = routes
    return document


def with_servers(document: dict[str, Any], format_: str, urls: list[str]) -> dict[str, Any]:
    """The document with its servers set to the application's instance URLs."""
    served = dict(document)
    if format_ == OPENAPI_3:
        served["servers"] = [{"url": url} for url in urls]
        return served
    # Swagger 2.0 has room for one server (scheme, host, base path); the rest go in x-servers.
    if urls:
        scheme, _, rest = urls[0].partition("://")
        host, _, base_path = rest.partition("/")
        served["schemes"] = [scheme]
        served["host"] = host
        served["basePath"] = "/" + base_path
    served["x-servers"] = [{"url": url} for url in urls]
    return served
