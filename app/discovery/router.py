from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from app.applications import service as applications
from app.connections.schemas import AccountRead, AwsFailureRead
from app.core.db import DatabaseRoute, SessionDep
from app.core.openapi import problems, string_pattern
from app.core.pagination import DEFAULT_LIMIT, CursorQuery, LimitQuery, paginate_list
from app.discovery import service
from app.discovery.dependencies import DiscoveryCacheDep, DiscoveryEngineDep, DiscoveryTargetDep
from app.discovery.schemas import (
    AccountPage,
    AccountRegionRead,
    ApiSummary,
    CustomDomainRead,
    DiscoveredApiPage,
    DiscoveredApiRead,
    DiscoveryErrorRead,
    OrganizationalUnitList,
    OrganizationalUnitRead,
    RegionApiCountRead,
    RegionDenialRead,
    RegionList,
    RegionRead,
    RegionSource,
    StageRead,
)
from app.integrations.aws.apigateway import DiscoveredApi
from app.integrations.aws.discovery import DiscoveryResult
from app.integrations.aws.errors import AwsError
from app.integrations.aws.sessions import (
    ACCOUNT_ID_PATTERN,
    REGION_PATTERN,
    region_data_source,
)
from app.scope.service import matches_tag

# Every route asks AWS.
router = APIRouter(
    prefix="/connections/{connection_id}",
    tags=["discovery"],
    route_class=DatabaseRoute,
    responses=problems(502, 504),
)

RegionQuery = Annotated[
    str,
    Query(
        description="AWS region, e.g. us-east-1",
        json_schema_extra={"minLength": 1, "pattern": REGION_PATTERN},
    ),
]
AccountIdQuery = Annotated[
    Annotated[str, string_pattern(ACCOUNT_ID_PATTERN)] | None,
    Query(description="12-digit account id (central role: one account)"),
]
TagQuery = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=400, pattern=r"^[^=]+(=.*)?$")]] | None,
    Query(
        description="key=value, key=* or key: only APIs with that tag (repeat: every one)",
        max_length=20,
    ),
]
RefreshQuery = Annotated[
    bool, Query(description="ask AWS again instead of reusing an answer a minute old")
]


def to_api_read(api: DiscoveredApi, application_id: uuid.UUID | None = None) -> DiscoveredApiRead:
    return DiscoveredApiRead(
        account_id=api.account_id,
        region=api.region,
        api_id=api.api_id,
        name=api.name,
        description=api.description,
        protocol=api.protocol,
        endpoint_type=api.endpoint_type,
        vpc_endpoint_ids=api.vpc_endpoint_ids,
        created_at=api.created_at,
        tags=api.tags,
        api_endpoint=api.api_endpoint,
        execute_api_endpoint_disabled=api.execute_api_endpoint_disabled,
        reachable_from=api.reachable_from,
        stages=[
            StageRead(
                name=stage.name,
                deployment_id=stage.deployment_id,
                created_at=stage.created_at,
                updated_at=stage.updated_at,
                instance_urls=stage.instance_urls,
                waf_web_acl=bool(stage.web_acl_arn),
                canary_deployment_id=stage.canary_deployment_id,
            )
            for stage in api.stages
        ],
        custom_domain_urls=api.custom_domain_urls,
        custom_domains=[
            CustomDomainRead(
                url=d.url,
                domain_name=d.domain_name,
                base_path=d.base_path,
                stage=d.stage,
                mutual_tls=d.mutual_tls,
                reachable_from=d.reachable_from,
                routing_rule_id=d.routing_rule_id,
                priority=d.priority,
                required_headers=d.required_headers,
            )
            for d in api.custom_domains
        ],
        application_id=application_id,
    )


@router.get("/accounts", response_model=AccountPage)
def list_accounts(
    target: DiscoveryTargetDep,
    engine: DiscoveryEngineDep,
    cache: DiscoveryCacheDep,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    refresh: RefreshQuery = False,
) -> AccountPage:
    accounts = service.list_accounts(target=target, engine=engine, cache=cache, refresh=refresh)
    page, next_cursor = paginate_list(
        accounts, lambda a: ((a.name or "").lower(), a.account_id), limit=limit, cursor=cursor
    )
    return AccountPage(items=[AccountRead.of(a) for a in page], next_cursor=next_cursor)


@router.get(
    "/organizational-units", response_model=OrganizationalUnitList, responses=problems(502, 504)
)
def list_organizational_units(
    target: DiscoveryTargetDep, engine: DiscoveryEngineDep
) -> OrganizationalUnitList:
    """A central role's organization, top down: the root and every OU with its name and
    the accounts directly in it (for choosing a schedule's organizational_units). Other
    connections reach no organization: an empty list."""
    try:
        units = engine.organization_tree(target.spec, target.context)
    except AwsError as exc:
        raise service.upstream(exc) from None
    return OrganizationalUnitList(
        items=[
            OrganizationalUnitRead(
                id=u.id, name=u.name, parent_id=u.parent_id, account_ids=u.account_ids
            )
            for u in units
        ]
    )


@router.get("/regions", response_model=RegionList)
def list_regions(
    target: DiscoveryTargetDep, engine: DiscoveryEngineDep, account_id: AccountIdQuery = None
) -> RegionList:
    found = service.list_regions(
        target=target, engine=engine, account_id=service.validate_account_id(account_id)
    )
    return RegionList(
        items=[
            RegionRead(
                region=r.region,
                opt_in=r.opt_in,
                enabled=r.enabled,
                error=AwsFailureRead.of(r.error),
            )
            for r in found
        ],
        source=RegionSource(**region_data_source()),
    )


def _errors(result: DiscoveryResult) -> list[DiscoveryErrorRead]:
    """Accounts not reached, regions not listed, parts of a listed region not read."""
    failures = [
        *((a.account_id, None, a.error) for a in result.accounts),
        *((o.account_id, o.region, o.error) for o in result.outcomes if o.status == "failed"),
        *((o.account_id, o.region, problem) for o in result.outcomes for problem in o.problems),
    ]
    errors = [
        DiscoveryErrorRead(
            account_id=account_id,
            region=region,
            code=error.code,
            message=error.message,
            hint=error.hint,
        )
        for account_id, region, error in failures
        if error is not None
    ]
    return sorted(errors, key=lambda e: (e.account_id, e.region or ""))


@router.get("/api-summary", response_model=ApiSummary)
def summarize_apis(
    target: DiscoveryTargetDep,
    engine: DiscoveryEngineDep,
    cache: DiscoveryCacheDep,
    account_id: AccountIdQuery = None,
    refresh: RefreshQuery = False,
) -> ApiSummary:
    """Which regions hold APIs, and how many, in every account the connection reaches (or
    in `account_id`): where to look, without guessing an account and a region. Only the APIs
    are listed in each region (GetRestApis and GetApis), not their stages."""
    counts, result = service.summarize_apis(
        target=target,
        engine=engine,
        cache=cache,
        account_id=service.validate_account_id(account_id),
        refresh=refresh,
    )
    return ApiSummary(
        items=[
            RegionApiCountRead(region=c.region, account_id=c.account_id, apis=c.apis)
            for c in counts
        ],
        errors=_errors(result),
    )


@router.get("/apis", response_model=DiscoveredApiPage)
def list_apis(
    target: DiscoveryTargetDep,
    engine: DiscoveryEngineDep,
    cache: DiscoveryCacheDep,
    session: SessionDep,
    region: RegionQuery,
    account_id: AccountIdQuery = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
    refresh: RefreshQuery = False,
    tag: TagQuery = None,
) -> DiscoveredApiPage:
    result = service.discover_apis(
        target=target,
        engine=engine,
        cache=cache,
        region=service.validate_region(target, region),
        account_id=service.validate_account_id(account_id),
        refresh=refresh,
    )
    apis = [api for api in result.apis if all(matches_tag(api, rule) for rule in tag or ())]
    page, next_cursor = paginate_list(
        apis,
        lambda a: (a.account_id, a.region, a.name.lower(), a.api_id),
        limit=limit,
        cursor=cursor,
    )
    errors = _errors(result)
    onboarded = applications.ids_by_api(
        session=session, tenant_id=target.tenant_id, keys=[api.key for api in page]
    )
    return DiscoveredApiPage(
        items=[to_api_read(api, onboarded.get(api.key)) for api in page],
        next_cursor=next_cursor,
        errors=errors,
        regions_not_enabled=sorted(
            (
                AccountRegionRead(account_id=o.account_id, region=o.region)
                for o in result.outcomes
                if o.status == "not_enabled"
            ),
            key=lambda r: (r.account_id, r.region),
        ),
        regions_denied_by_policy=sorted(
            (
                RegionDenialRead(
                    account_id=o.account_id,
                    region=o.region,
                    message=o.error.message,
                    hint=o.error.hint,
                )
                for o in result.outcomes
                if o.status == "denied_by_policy" and o.error is not None
            ),
            key=lambda r: (r.account_id, r.region),
        ),
    )
