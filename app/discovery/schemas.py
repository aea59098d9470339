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
    # vpc_only: a private custom domain, answered only through the customer's VPC endpoints.
    reachable_from: Literal["internet", "vpc_only"] = "internet"
    # Set when a routing rule (not a base path or API mapping) sends this URL to the stage;
    # the caller must then send required_headers (header -> value glob) to reach it.
    routing_rule_id: str | None = None
    priority: int | None = None
    required_headers: dict[str, str] = {}


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


class RegionDenialRead(BaseModel):
    """A region the organization denies by policy (a service control policy, Control Tower's
    region deny): nothing is listed there, and it is not an error."""

    account_id: str
    region: str
    message: str
    hint: str | None


class DiscoveredApiPage(Page[DiscoveredApiRead]):
    # Accounts not reached, regions not listed, and parts of a listed region that could not
    # be read (a custom domain: the region's APIs are listed).
    errors: list[DiscoveryErrorRead]
    regions_not_enabled: list[AccountRegionRead]
    regions_denied_by_policy: list[RegionDenialRead]


class AccountPage(Page[AccountRead]):
    pass


class OrganizationalUnitRead(BaseModel):
    """The root (`r-...`, no parent) or an OU, with the accounts directly in it."""

    id: str
    name: str
    parent_id: str | None
    account_ids: list[str]


class OrganizationalUnitList(BaseModel):
    items: list[OrganizationalUnitRead]


class RegionRead(BaseModel):
    region: str
    opt_in: bool
    enabled: bool | None
    error: AwsFailureRead | None = None


class RegionSource(BaseModel):
    """Where the list of regions comes from: botocore's endpoint data, as installed."""

    botocore_version: str
    data: str = "endpoints.json"


class RegionList(BaseModel):
    items: list[RegionRead]
    next_cursor: str | None = None
    source: RegionSource


class RegionApiCountRead(BaseModel):
    """How many APIs (REST, HTTP and WebSocket) one account holds in one region."""

    region: str
    account_id: str
    apis: int


class ApiSummary(BaseModel):
    # Only the places that hold APIs, the most first; regions not enabled or denied by a
    # policy are left out, places that could not be listed are in `errors`.
    items: list[RegionApiCountRead]
    errors: list[DiscoveryErrorRead]
