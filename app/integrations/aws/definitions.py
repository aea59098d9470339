"""What each stage of an API serves: its operations, what it takes to call each, and its
OpenAPI definition, read from what is deployed rather than from the API's draft.

AWS serves a stage from the deployment it points at, not from the API as it is being edited,
so everything here is read per stage:

- REST: the stage's export (GetExport, OpenAPI 3 with the API Gateway extensions) is the
  document; the operations and their authorization come from the stage's deployment
  (GetDeployment with embed=apisummary), enriched with the export's authorizer names and
  integration types. A deployment that answers no summary falls back to the API's draft
  (GetResources), and says so (`source`).
- HTTP: ExportApi of that stage is both the document and the operations; where it fails, the
  routes (the draft) stand in.
- WebSocket: AWS has no export; the definition is built from the routes.

A stage with a canary serves a second deployment to part of its traffic: its operations are
read too. Every document is validated as OpenAPI 3.0 or Swagger 2.0; an invalid one is kept
and flagged, never passed off as valid.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

from openapi_spec_validator import OpenAPIV2SpecValidator, OpenAPIV30SpecValidator

from app.integrations.aws.apigateway import (
    GET_RESOURCES,
    Call,
    ClientFor,
    DiscoveredApi,
    DiscoveredStage,
    _v1_pages,
    _v2_pages,
)
from app.integrations.aws.errors import AwsError

# Export failures after which a built definition is still worth having; anything else
# (throttling, an unreachable or refusing AWS) fails the onboarding with its own code.
FALLBACK_CODES = frozenset({"aws_error", "not_found", "access_denied"})
OPENAPI_3 = "openapi_3"
SWAGGER_2 = "swagger_2"
WEBSOCKET_METHOD = "WEBSOCKET"
MAX_VALIDATION_ERRORS = 20
# A greedy path parameter's name keeps its "+" ({proxy+} declares "proxy+"), as HTTP API
# exports have it: OpenAPI matches declared names to the template, so "proxy" alone would
# make the document invalid.
_PATH_PARAMETER = re.compile(r"\{([^}/]+)\}")
_HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_ANY_METHOD = "x-amazon-apigateway-any-method"

# Where a stage's operations were read (the definition's `source`).
FROM_DEPLOYMENT = "deployment"  # REST: GetDeployment's apisummary of the stage's deployment
FROM_STAGE_EXPORT = "stage_export"  # HTTP: ExportApi of the stage
FROM_DRAFT_RESOURCES = "draft_resources"  # REST fallback: GetResources, the undeployed draft
FROM_DRAFT_ROUTES = "draft_routes"  # WebSocket, or HTTP fallback: GetRoutes

PUBLIC = "public"
API_KEY_ONLY = "api_key_only"
AUTHENTICATED = "authenticated"
CORS_PREFLIGHT = "cors_preflight"
EXPOSURES = (PUBLIC, API_KEY_ONLY, AUTHENTICATED, CORS_PREFLIGHT)


@dataclass(frozen=True)
class Operation:
    """One operation a caller can invoke, and what it takes to be let in."""

    method: str  # GET, POST, ANY, ...; "WEBSOCKET" for a WebSocket route
    path: str  # /orders/{id}; the route key for WebSocket ($connect, sendMessage)
    authorization: str  # NONE | AWS_IAM | CUSTOM | COGNITO_USER_POOLS | JWT
    authorizer_type: str | None  # TOKEN | REQUEST | COGNITO_USER_POOLS | JWT | AWS_IAM | None
    authorizer_name: str | None
    api_key_required: bool
    integration_type: str | None = None  # MOCK, HTTP_PROXY, AWS_PROXY, ...; None if unknown

    @property
    def exposure(self) -> str:
        """What a security team means by exposed.

        Any authorizer (IAM, Cognito, Lambda, JWT) authenticates. An API key identifies a
        caller without authenticating it: AWS's usage-plan guidance says not to rely on API
        keys for authentication. An OPTIONS method with no authorization and a MOCK
        integration is the CORS preflight API Gateway's console adds: open by design.
        """
        if self.authorization != "NONE":
            return AUTHENTICATED
        if self.method == "OPTIONS" and self.integration_type == "MOCK":
            return CORS_PREFLIGHT
        return API_KEY_ONLY if self.api_key_required else PUBLIC

    @property
    def unauthenticated(self) -> bool:
        return self.exposure in (PUBLIC, API_KEY_ONLY)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exposure": self.exposure, "unauthenticated": self.unauthenticated}


@dataclass(frozen=True)
class Surface:
    operations: tuple[Operation, ...]

    @property
    def exposure(self) -> dict[str, int]:
        counts = Counter(operation.exposure for operation in self.operations)
        return {kind: counts.get(kind, 0) for kind in EXPOSURES}

    @property
    def unauthenticated(self) -> int:
        return sum(operation.unauthenticated for operation in self.operations)

    @property
    def api_key(self) -> int:
        return sum(operation.api_key_required for operation in self.operations)

    @property
    def cors_preflight(self) -> int:
        return sum(operation.exposure == CORS_PREFLIGHT for operation in self.operations)

    @property
    def authorizer_types(self) -> dict[str, int]:
        """How many operations each kind of authorizer protects (AWS_IAM counts as one)."""
        counts = Counter(op.authorizer_type for op in self.operations if op.authorizer_type)
        return dict(sorted(counts.items()))

    def counts(self) -> dict[str, Any]:
        return {
            "operations": len(self.operations),
            "unauthenticated_operations": self.unauthenticated,
            "api_key_operations": self.api_key,
            "cors_preflight_operations": self.cors_preflight,
        }


class DefinitionError(Exception):
    """AWS's definition cannot be used; `code` is stable, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Definition:
    document: dict[str, Any]
    format: str  # openapi_3 | swagger_2
    source: str  # aws_export | built: where the document came from
    stage: str | None = None  # the stage exported
    export_error: str | None = None  # why a built definition stands in for AWS's export


@dataclass(frozen=True)
class Validation:
    valid: bool
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class CanaryServing:
    """The deployment a stage's canary serves to `percent_traffic` of its callers."""

    deployment_id: str
    percent_traffic: float | None
    surface: Surface | None  # None: the deployment answered no summary
    source: str  # deployment | unavailable


@dataclass(frozen=True)
class StageDefinition:
    """What one stage serves."""

    stage: str | None
    deployment_id: str | None
    definition: Definition
    surface: Surface
    source: str  # FROM_*: where the operations were read
    validation: Validation
    canary: CanaryServing | None = None


# ------------------------------------------------------------------------------ the surface
def _authorizer_kind(authorization: str, authorizer: dict[str, Any] | None) -> str | None:
    if authorization == "AWS_IAM":
        return "AWS_IAM"
    if authorization in {"CUSTOM", "COGNITO_USER_POOLS", "JWT"}:
        return (authorizer or {}).get("type") or authorization
    return None


def _rest_operations(call: Call, client: Any, api_id: str) -> list[Operation]:
    """The REST API's draft: its resources and methods as they are being edited."""
    authorizers = {a["id"]: a for a in _v1_pages(call, client.get_authorizers, restApiId=api_id)}
    resources = _v1_pages(
        call, client.get_resources, quota=GET_RESOURCES, restApiId=api_id, embed=["methods"]
    )
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
            kind = _authorizer_kind(authorization, authorizer)
            integration = (method.get("methodIntegration") or {}).get("type")
            operations.append(
                Operation(
                    method=http_method.upper(),
                    path=resource.get("path", "/"),
                    authorization=authorization,
                    authorizer_type=kind,
                    authorizer_name=(authorizer or {}).get("name") if kind != "AWS_IAM" else None,
                    api_key_required=bool(method.get("apiKeyRequired")),
                    integration_type=integration.upper() if integration else None,
                )
            )
    return operations


@dataclass(frozen=True)
class _Exported:
    """What an export says of one operation: its authorizer and its integration."""

    authorization: str | None  # None: the export names no authorization for it
    authorizer_type: str | None
    authorizer_name: str | None
    api_key_required: bool
    integration_type: str | None


def _scheme_authorization(name: str, scheme: dict[str, Any]) -> tuple[str, str | None] | None:
    """(authorization, authorizer type) of a security scheme in an API Gateway export; None
    for the API key scheme."""
    authorizer = scheme.get("x-amazon-apigateway-authorizer") or {}
    kind = str(authorizer.get("type") or "").lower()
    authtype = str(scheme.get("x-amazon-apigateway-authtype") or "").lower()
    if authtype == "awssigv4" or name == "sigv4":
        return "AWS_IAM", "AWS_IAM"
    if kind == "jwt":
        return "JWT", "JWT"
    if kind == "cognito_user_pools" or authtype == "cognito_user_pools":
        return "COGNITO_USER_POOLS", "COGNITO_USER_POOLS"
    if kind in {"token", "request"}:
        return "CUSTOM", kind.upper()
    if authtype == "custom":
        return "CUSTOM", "CUSTOM"
    if scheme.get("type") == "apiKey" and str(scheme.get("name", "")).lower() == "x-api-key":
        return None
    if scheme.get("type") in {"oauth2", "openIdConnect", "http"}:
        return "JWT", "JWT"
    return "CUSTOM", "CUSTOM"


def exported_operations(document: dict[str, Any]) -> dict[tuple[str, str], _Exported]:
    """Every operation an OpenAPI 3 export of API Gateway names, by (METHOD, path)."""
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    default_security = document.get("security")
    found: dict[tuple[str, str], _Exported] = {}
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for key, operation in item.items():
            lowered = key.lower()
            if lowered == _ANY_METHOD:
                method = "ANY"
            elif lowered in _HTTP_METHODS:
                method = lowered.upper()
            else:
                continue
            if not isinstance(operation, dict):
                continue
            security = operation.get("security", default_security) or []
            authorization, kind, name, api_key = "NONE", None, None, False
            for requirement in security[:1]:  # API Gateway exports one requirement object
                for scheme_name in requirement or {}:
                    scheme = schemes.get(scheme_name) or {}
                    found_kind = _scheme_authorization(scheme_name, scheme)
                    if found_kind is None:
                        api_key = True
                        continue
                    authorization, kind = found_kind
                    name = None if kind == "AWS_IAM" else scheme_name
            integration = (operation.get("x-amazon-apigateway-integration") or {}).get("type")
            found[(method, path)] = _Exported(
                authorization=authorization,
                authorizer_type=kind,
                authorizer_name=name,
                api_key_required=api_key,
                integration_type=str(integration).upper() if integration else None,
            )
    return found


def _http_export_operations(document: dict[str, Any]) -> list[Operation]:
    """An HTTP API's operations as the stage's export says (its $default route is the path
    `/$default` with any method)."""
    operations = []
    for (method, path), exported in sorted(exported_operations(document).items()):
        if path == "/$default":
            method, path = "ANY", "/{proxy+}"
        operations.append(
            Operation(
                method=method,
                path=path,
                authorization=exported.authorization or "NONE",
                authorizer_type=exported.authorizer_type,
                authorizer_name=exported.authorizer_name,
                api_key_required=exported.api_key_required,
                integration_type=exported.integration_type,
            )
        )
    return operations


def _summary_operations(
    summary: dict[str, Any], exported: dict[tuple[str, str], _Exported]
) -> list[Operation]:
    """A deployment's apisummary ({path: {METHOD: {authorizationType, apiKeyRequired}}}), each
    method named and typed by the stage's export where it has the same operation."""
    operations = []
    for path in sorted(summary):
        for http_method, snapshot in sorted((summary[path] or {}).items()):
            method = http_method.upper()
            authorization = (snapshot or {}).get("authorizationType") or "NONE"
            extra = exported.get((method, path))
            if extra is not None and extra.authorization == authorization:
                kind, name = extra.authorizer_type, extra.authorizer_name
            else:
                kind, name = _authorizer_kind(authorization, None), None
            operations.append(
                Operation(
                    method=method,
                    path=path,
                    authorization=authorization,
                    authorizer_type=kind,
                    authorizer_name=name,
                    api_key_required=bool((snapshot or {}).get("apiKeyRequired")),
                    integration_type=extra.integration_type if extra else None,
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


def draft_surface(*, call: Call, client_for: ClientFor, api: DiscoveredApi) -> Surface:
    """The API as it is being edited (REST resources, v2 routes), not what a stage serves."""
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


def validate_document(document: dict[str, Any], format_: str) -> Validation:
    """The document checked against the OpenAPI 3.0 or Swagger 2.0 specification."""
    validator_class = OpenAPIV30SpecValidator if format_ == OPENAPI_3 else OpenAPIV2SpecValidator
    errors = []
    try:
        for error in islice(validator_class(document).iter_errors(), MAX_VALIDATION_ERRORS):
            where = getattr(error, "json_path", None)
            first_line = str(getattr(error, "message", error)).split("\n", 1)[0][:300]
            errors.append(f"{where}: {first_line}" if where and where != "$" else first_line)
    except Exception as exc:  # a document the validator cannot even walk is not valid either
        errors.append(f"the validator could not read the document ({type(exc).__name__})")
    return Validation(valid=not errors, errors=tuple(errors))


@dataclass
class StageReader:
    """Reads what each stage of one API serves, asking AWS once for what stages share (a
    deployment two stages point at, the draft)."""

    call: Call
    client_for: ClientFor
    api: DiscoveredApi
    max_bytes: int
    _summaries: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    _export_errors: dict[str, str] = field(default_factory=dict)  # stage -> why none
    _draft: Surface | None = None

    def read(self, stage_name: str | None) -> StageDefinition:
        stage = next((s for s in self.api.stages if s.name == stage_name), None)
        if stage is None:
            return self._unstaged(stage_name)
        if self.api.protocol == "WEBSOCKET":  # AWS has no export of WebSocket APIs
            return self._finish(stage, None, self.draft(), FROM_DRAFT_ROUTES, None)
        definition = self._export(stage.name)
        if self.api.protocol == "HTTP":
            return self._http(stage, definition)
        return self._rest(stage, definition)

    # -------------------------------------------------------------- per protocol
    def _rest(self, stage: DiscoveredStage, export: Definition | None) -> StageDefinition:
        exported = exported_operations(export.document) if export else {}
        surface = self._deployed(stage.deployment_id, exported)
        source = FROM_DEPLOYMENT
        if surface is None:
            surface, source = self.draft(), FROM_DRAFT_RESOURCES
        canary = None
        if stage.canary_deployment_id:
            served = self._deployed(stage.canary_deployment_id, exported)
            canary = CanaryServing(
                deployment_id=stage.canary_deployment_id,
                percent_traffic=stage.canary_percent_traffic,
                surface=served,
                source=FROM_DEPLOYMENT if served is not None else "unavailable",
            )
        return self._finish(stage, export, surface, source, canary)

    def _http(self, stage: DiscoveredStage, export: Definition | None) -> StageDefinition:
        if export is not None:
            surface = Surface(tuple(_http_export_operations(export.document)))
            return self._finish(stage, export, surface, FROM_STAGE_EXPORT, None)
        return self._finish(stage, export, self.draft(), FROM_DRAFT_ROUTES, None)

    def _finish(
        self,
        stage: DiscoveredStage,
        export: Definition | None,
        surface: Surface,
        source: str,
        canary: CanaryServing | None,
    ) -> StageDefinition:
        definition = export or Definition(
            build_definition(self.api, surface),
            OPENAPI_3,
            "built",
            stage.name,
            export_error=self._export_errors.get(stage.name),
        )
        return StageDefinition(
            stage=stage.name,
            deployment_id=stage.deployment_id,
            definition=definition,
            surface=surface,
            source=source,
            validation=validate_document(definition.document, definition.format),
            canary=canary,
        )

    def _unstaged(self, stage_name: str | None) -> StageDefinition:
        """Instances with no stage the API has (a custom domain mapped to none): the draft."""
        surface = self.draft()
        definition = Definition(
            build_definition(self.api, surface),
            OPENAPI_3,
            "built",
            stage_name,
            "No stage was chosen to export.",
        )
        return StageDefinition(
            stage=stage_name,
            deployment_id=None,
            definition=definition,
            surface=surface,
            source=FROM_DRAFT_RESOURCES if self.api.protocol == "REST" else FROM_DRAFT_ROUTES,
            validation=validate_document(definition.document, definition.format),
        )

    # -------------------------------------------------------------- AWS
    def draft(self) -> Surface:
        if self._draft is None:
            self._draft = draft_surface(call=self.call, client_for=self.client_for, api=self.api)
        return self._draft

    def _deployed(
        self, deployment_id: str | None, exported: dict[tuple[str, str], _Exported]
    ) -> Surface | None:
        """The deployment's operations, or None when it answers no summary of them."""
        if not deployment_id:
            return None
        if deployment_id not in self._summaries:
            client = self.client_for("apigateway")
            answer = self.call(
                functools.partial(
                    client.get_deployment,
                    restApiId=self.api.api_id,
                    deploymentId=deployment_id,
                    embed=["apisummary"],
                )
            )
            summary = answer.get("apiSummary")
            self._summaries[deployment_id] = summary if isinstance(summary, dict) else None
        summary = self._summaries[deployment_id]
        if summary is None:
            return None
        return Surface(tuple(_summary_operations(summary, exported)))

    def _export(self, stage: str) -> Definition | None:
        """AWS's export of the stage; None (and the reason kept) where AWS has none to give."""
        try:
            # Read inside the call: a connection dropped mid-body is retried like any failure.
            data = self.call(
                lambda: {
                    "data": _body_bytes(_export(self.client_for, self.api, stage), self.max_bytes)
                }
            )["data"]
        except AwsError as exc:
            if exc.failure.code not in FALLBACK_CODES:
                raise
            self._export_errors[stage] = exc.failure.message
            return None
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
