from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from app.connections.schemas import AccountRead, AwsFailureRead
from app.core.pagination import Page


class StageRead(BaseModel):
    name: str
    deployment_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    instance_urls: list[str]
    waf_web_acl: bool = False  # a WAF web ACL filters the stage's traffic (REST)
    canary_deployment_id: str | None = None  # a canary serves this deployment to some callers


class CustomDomainRead(BaseModel):
    url: str
    domain_name: str
    base_path: str
    stage: str | None
    mutual_tls: bool = False  # the domain asks callers for a client certificate


class DiscoveredApiRead(BaseModel):
    account_id: str
    region: str
    api_id: str
    name: str
    description: str | None
    protocol: str
    endpoint_type: str
    vpc_endpoint_ids: list[str]
    created_at: datetime | None
    tags: dict[str, str]
    api_endpoint: str
    execute_api_endpoint_disabled: bool
    # vpc_only: a private API, reachable only inside the customer's VPCs (a scanner outside
    # them cannot reach any of its URLs).
    reachable_from: Literal["internet", "vpc_only"]
    stages: list[StageRead]
    custom_domain_urls: list[str]
    custom_domains: list[CustomDomainRead]
    application_id: uuid.UUID | None = None


class DiscoveryErrorRead(BaseModel):
    """An account that could not be reached, or a region that could not be listed."""

    account_id: str
    region: str | None
    code: str
    message: str
    hint: str | None


class AccountRegionRead(BaseModel):
    account_id: str
    region: str


class DiscoveredApiPage(Page[DiscoveredApiRead]):
    errors: list[DiscoveryErrorRead]
    regions_not_enabled: list[AccountRegionRead]


class AccountPage(Page[AccountRead]):
    pass


class RegionRead(BaseModel):
    region: str
    opt_in: bool
    enabled: bool | None
    error: AwsFailureRead | None = None


class RegionList(BaseModel):
    items: list[RegionRead]
    next_cursor: str | None = None
