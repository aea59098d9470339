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


class InstanceRead(BaseModel):
    url: str
    stage: str | None
    created_at: datetime


class DefinitionRead(BaseModel):
    format: str  # openapi_3 | swagger_2
    source: str  # aws_export | built
    stage: str | None
    export_error: str | None
    operations: int
    unauthenticated_operations: int
    api_key_operations: int
    authorizer_types: dict[str, int]
    sha256: str
    size_bytes: int
    fetched_at: datetime


class ApplicationRead(BaseModel):
    id: uuid.UUID
    name: str
    source: ApplicationSourceRead
    instances: list[InstanceRead]
    onboarded_via: str
    definition: DefinitionRead
    created_at: datetime
    updated_at: datetime


class OperationRead(BaseModel):
    method: str
    path: str
    authorization: str
    authorizer_type: str | None
    authorizer_name: str | None
    api_key_required: bool
    unauthenticated: bool


class OperationList(Page[OperationRead]):
    pass
