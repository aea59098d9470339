from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.pagination import Page
from app.integrations.aws.sessions import REGION_PATTERN

InstanceUrl = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=2048, pattern=r"^(https|wss)://[^\s/]+"),
]
StageName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


def _one_of_them_given(schema: dict[str, Any]) -> None:
    # The service refuses a selection with neither (a rule across fields: said here, checked
    # with its own message by `service.select_instances`).
    schema["anyOf"] = [
        {"required": [name], "properties": {name: {"minItems": 1}}}
        for name in ("instance_urls", "stages")
    ]


class InstanceSelection(BaseModel):
    """Which of the API's URLs to test: listed one by one, or every URL of named stages."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_of_them_given)

    instance_urls: list[InstanceUrl] = Field(default_factory=list, max_length=100)
    stages: list[StageName] = Field(default_factory=list, max_length=100)


class ApplicationCreate(InstanceSelection):
    connection_id: uuid.UUID
    region: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=32),
        Field(json_schema_extra={"pattern": REGION_PATTERN}),
    ]
    # API Gateway ids are ten lowercase letters and digits.
    api_id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9]{1,64}$")]
    account_id: Annotated[str | None, Field(pattern=r"^\d{12}$")] = None
    name: Annotated[
        str | None, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ] = None


class ApplicationSourceRead(BaseModel):
    type: Literal["aws_api_gateway"] = "aws_api_gateway"
    connection_id: uuid.UUID | None
    account_id: str
    region: str
    api_id: str
    protocol: str
    endpoint_type: str


Exposure = Literal["public", "api_key_only", "authenticated", "cors_preflight"]
ReachableFrom = Literal["internet", "vpc_only"]


class InstanceRead(BaseModel):
    url: str
    stage: str | None
    created_at: datetime
    # vpc_only: a private API's URL, reachable only inside the customer's VPCs.
    reachable_from: ReachableFrom
    mutual_tls: bool  # the URL's custom domain asks for a client certificate
    # A custom domain's routing rule sends this URL to the stage only with these headers
    # (name -> value glob): a scanner must send them.
    required_headers: dict[str, str] = {}
    # retired: its stage or custom-domain mapping is gone from AWS (kept for the history).
    status: Literal["active", "retired"] = "active"
    retired_at: datetime | None = None


class ExposureCounts(BaseModel):
    public: int = 0
    api_key_only: int = 0
    authenticated: int = 0
    cors_preflight: int = 0


class CanaryRead(BaseModel):
    """The deployment a stage's canary serves to `percent_traffic` percent of its callers."""

    deployment_id: str
    percent_traffic: float | None
    source: Literal["deployment", "unavailable"]
    operations: int | None = None
    unauthenticated_operations: int | None = None
    api_key_operations: int | None = None
    cors_preflight_operations: int | None = None


class DefinitionRead(BaseModel):
    """What one stage serves (the current version unless a list of versions says otherwise)."""

    stage: str | None
    deployment_id: str | None
    version: int
    format: Literal["openapi_3", "swagger_2"]
    # Where the operations were read: the stage's deployment (REST), the stage's export
    # (HTTP), or, as a fallback, the API's undeployed draft.
    source: Literal["deployment", "stage_export", "draft_resources", "draft_routes"]
    document_source: Literal["aws_export", "built"]
    export_error: str | None
    valid: bool
    validation_errors: list[str]
    operations: int
    unauthenticated_operations: int  # public + api_key_only
    api_key_operations: int  # every operation that requires an API key
    cors_preflight_operations: int
    exposure: ExposureCounts
    authorizer_types: dict[str, int]
    canary: CanaryRead | None
    sha256: str
    size_bytes: int
    fetched_at: datetime


class ProtectionsRead(BaseModel):
    stage: str | None
    resource_policy: Literal["none", "restricts_callers", "allows_anyone"]
    waf_web_acl: bool
    mutual_tls: bool
    reachable_from: ReachableFrom


ApplicationStatus = Literal["active", "retired", "orphaned"]


class ApplicationRead(BaseModel):
    id: uuid.UUID
    name: str
    source: ApplicationSourceRead
    instances: list[InstanceRead]
    onboarded_via: str
    definition: DefinitionRead | None  # the first instance's stage
    definitions: list[DefinitionRead]  # one per stage with an instance
    protections: list[ProtectionsRead]
    # active | retired (the API is gone from AWS) | orphaned (no connection reaches its
    # account any more); active again when the API is listed again.
    status: ApplicationStatus = "active"
    retired_at: datetime | None = None
    orphaned_at: datetime | None = None
    last_synced_at: datetime | None = None
    created_at: datetime
    updated_at: datetime


ChangeKind = Literal[
    "onboarded",
    "definition_changed",
    "exposure_increased",
    "exposure_decreased",
    "instance_added",
    "instance_retired",
    "retired",
    "orphaned",
    "restored",
]


class ChangeRead(BaseModel):
    """One thing that happened to an application."""

    id: uuid.UUID
    kind: ChangeKind
    occurred_at: datetime
    stage: str | None
    summary: str
    details: dict[str, Any]


class OperationRead(BaseModel):
    method: str
    path: str
    authorization: str
    authorizer_type: str | None
    authorizer_name: str | None
    api_key_required: bool
    integration_type: str | None = None
    exposure: Exposure
    unauthenticated: bool


class OperationList(Page[OperationRead]):
    pass


class ApplicationRegionRead(BaseModel):
    region: str
    applications: int


class ApplicationRegionList(BaseModel):
    """The regions the tenant's applications are in (for a filter's choices)."""

    items: list[ApplicationRegionRead]
