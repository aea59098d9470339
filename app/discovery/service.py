"""Discovery: the accounts, regions and APIs a connection reaches, answered from the engine.

A discovery's answer is kept for a short while (`discovery_cache_seconds`), so that the next
page, or the same question from the console a moment later, does not walk AWS again; a changed
connection (a new `updated_at`) never reuses an old answer, nor does anyone reuse an answer in
which some account or region did not answer in time (trying again is what its hint says).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from app.connections import service as connections
from app.core.cache import TtlCache
from app.core.errors import (
    NotFoundError,
    UpstreamError,
    UpstreamTimeoutError,
    ValidationFailedError,
)
from app.core.security import SecretBox
from app.integrations.aws.credentials import AccountStatus, CredentialSpec, ProbeContext
from app.integrations.aws.discovery import (
    DiscoveryEngine,
    DiscoveryResult,
    RegionAvailability,
    any_timed_out,
    apigateway_regions,
)
from app.integrations.aws.errors import AwsError
from app.models import Connection

ACCOUNT_ID = re.compile(r"\d{12}")


@dataclass(frozen=True)
class DiscoveryTarget:
    """What discovery needs of a stored connection, read before any AWS call is made."""

    tenant_id: uuid.UUID
    connection_id: uuid.UUID
    version: datetime
    spec: CredentialSpec
    context: ProbeContext


def target_of(connection: Connection, box: SecretBox, context: ProbeContext) -> DiscoveryTarget:
    return DiscoveryTarget(
        tenant_id=connection.tenant_id,
        connection_id=connection.id,
        version=connection.updated_at,
        spec=connections.spec_of(connection, box),
        context=context,
    )


class DiscoveryCache(TtlCache):
    """Discovery answers (accounts, or a region's APIs) by connection version and question."""


def upstream(exc: AwsError) -> UpstreamError:
    """The request's answer to an AWS failure: 502, or 504 when AWS did not answer in time."""
    failure = exc.failure
    error = UpstreamTimeoutError if failure.code == "aws_timeout" else UpstreamError
    return error(failure.message, code=failure.code, hint=failure.hint)


def validate_region(target: DiscoveryTarget, region: str) -> str:
    return check_region(target.spec.partition, region)


def check_region(partition: str, region: str, *, field: str = "region") -> str:
    """The region, or a 422 naming `field` when API Gateway has no such region there."""
    if region not in apigateway_regions(partition):
        raise ValidationFailedError(
            field,
            f"{region!r} is not a region where API Gateway exists in partition {partition}",
            hint="GET /connections/{id}/regions lists the regions to choose from.",
        )
    return region


def validate_account_id(account_id: str | None) -> str | None:
    if account_id is not None and not ACCOUNT_ID.fullmatch(account_id):
        raise ValidationFailedError("account_id", "must be a 12-digit AWS account id")
    return account_id


def list_accounts(
    *, target: DiscoveryTarget, engine: DiscoveryEngine, cache: DiscoveryCache, refresh: bool
) -> list[AccountStatus]:
    def compute() -> list[AccountStatus]:
        try:
            return engine.accounts(target.spec, target.context)
        except AwsError as exc:
            raise upstream(exc) from None

    key = ("accounts", target.tenant_id, target.connection_id, target.version)
    return cache.get_or_compute(
        key,
        compute,
        refresh=refresh,
        keep=lambda accounts: not any_timed_out(account.error for account in accounts),
    )


def list_regions(
    *, target: DiscoveryTarget, engine: DiscoveryEngine, account_id: str | None
) -> list[RegionAvailability]:
    try:
        return engine.regions(
            target.spec, target.context, partition=target.spec.partition, account_id=account_id
        )
    except AwsError as exc:
        raise upstream(exc) from None


def discover_apis(
    *,
    target: DiscoveryTarget,
    engine: DiscoveryEngine,
    cache: DiscoveryCache,
    region: str,
    account_id: str | None,
    refresh: bool,
) -> DiscoveryResult:
    def compute() -> DiscoveryResult:
        try:
            return engine.discover(
                target.spec,
                target.context,
                regions=[region],
                account_ids=None if account_id is None else [account_id],
            )
        except AwsError as exc:
            raise upstream(exc) from None

    key = ("apis", target.tenant_id, target.connection_id, target.version, region, account_id)
    result = cache.get_or_compute(
        key, compute, refresh=refresh, keep=lambda found: not found.timed_out
    )
    if account_id is not None and not result.accounts:
        raise NotFoundError(
            f"Account {account_id} is not reached by this connection.",
            hint="GET /connections/{id}/accounts lists the accounts it reaches.",
        )
    return result


# Counting needs only the listing of each region's APIs: every API is marked out of scope for
# the engine, so it asks for no stages (GetStages, one per API) and no custom domains.
_COUNT_ONLY = "counted only"


@dataclass(frozen=True)
class RegionApiCount:
    account_id: str
    region: str
    apis: int


def summarize_apis(
    *,
    target: DiscoveryTarget,
    engine: DiscoveryEngine,
    cache: DiscoveryCache,
    account_id: str | None,
    refresh: bool,
) -> tuple[list[RegionApiCount], DiscoveryResult]:
    """How many APIs each account and region holds, over every region API Gateway has in the
    connection's partition, for choosing where to look without guessing.

    Its cost in AWS calls: per account, the AssumeRole discovery makes anyway (cached), and
    per account and region one GetRestApis and one GetApis (a call per 500 APIs); a central
    role adds its ListAccounts pages. No GetStages, no custom-domain calls.
    """

    def compute() -> DiscoveryResult:
        try:
            return engine.discover(
                target.spec,
                target.context,
                regions=apigateway_regions(target.spec.partition),
                account_ids=None if account_id is None else [account_id],
                api_out_of_scope=lambda _api: _COUNT_ONLY,
            )
        except AwsError as exc:
            raise upstream(exc) from None

    key = ("api-summary", target.tenant_id, target.connection_id, target.version, account_id)
    result = cache.get_or_compute(
        key, compute, refresh=refresh, keep=lambda found: not found.timed_out
    )
    if account_id is not None and not result.accounts:
        raise NotFoundError(
            f"Account {account_id} is not reached by this connection.",
            hint="GET /connections/{id}/accounts lists the accounts it reaches.",
        )
    counts = [
        RegionApiCount(account_id=o.account_id, region=o.region, apis=len(o.apis))
        for o in result.outcomes
        if o.status == "ok" and o.apis
    ]
    counts.sort(key=lambda c: (-c.apis, c.region, c.account_id))
    return counts, result
