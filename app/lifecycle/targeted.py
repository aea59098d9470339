"""A change event's sync: just one API (or the APIs on one custom domain), now.

What a run does for every API of a connection, done for the API an AWS change event named,
under the connection's auto-onboard scope: an onboarded API is synced (new stages added,
changed stages read again, instances reconciled, retired when gone) for any connection that
reaches it; an API not onboarded yet is onboarded (or held for approval) only when the
connection has an auto-onboard schedule whose regions and scope take it. A trigger the
connection cannot act on is dropped with a stable code and the reason.

The checks that need no AWS come first (region, the connection's own account, the schedule's
accounts and regions); AWS is asked with no session held, and each write is a transaction of
its own (`jobs.write`), with its changes and so its events and webhooks.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select, update

from app.applications import service as applications
from app.connections.service import partition_of
from app.core.db import Database
from app.core.errors import ConflictError, DomainError
from app.discovery.service import DiscoveryTarget, target_of
from app.integrations.aws.apigateway import DiscoveredApi, add_domains, describe_api
from app.integrations.aws.credentials import CentralRoleCredentials
from app.integrations.aws.discovery import AccountNotReached, RegionAccess, apigateway_regions
from app.integrations.aws.errors import AwsError, AwsFailure
from app.integrations.aws.organizations import OrganizationalUnits
from app.integrations.aws.sessions import account_of_arn
from app.lifecycle import jobs
from app.lifecycle import service as lifecycle
from app.models import (
    Application,
    ApplicationInstance,
    AutoOnboardSchedule,
    Connection,
    Tenant,
)
from app.models.base import utcnow
from app.scope import candidates
from app.scope.service import Scope

logger = logging.getLogger(__name__)

# What a targeted sync did (IngestTrigger.outcome).
ONBOARDED, SYNCED, UNCHANGED, RETIRED = "onboarded", "synced", "unchanged", "retired"
HELD, NO_STAGE, GONE = "held_for_approval", "no_stage", "gone"
# Why a trigger was dropped (IngestTrigger.reason_code).
ACCOUNT_NOT_REACHED = "account_not_reached"
REGION_NOT_REACHED = "region_not_reached"
OUT_OF_SCOPE = "out_of_scope"
NO_SCHEDULE = "no_schedule"
CONNECTION_DELETED = "connection_deleted"
# Event names after which custom-domain URLs may have changed: domains are read again.
_DOMAIN_EVENTS = frozenset(
    {
        "CreateBasePathMapping",
        "UpdateBasePathMapping",
        "DeleteBasePathMapping",
        "CreateApiMapping",
        "UpdateApiMapping",
        "DeleteApiMapping",
        "CreateDomainName",
        "UpdateDomainName",
        "DeleteDomainName",
    }
)


@dataclass(frozen=True)
class Request:
    """One API (`api_id`) or custom domain (`domain`) of one account and region."""

    connection_id: uuid.UUID
    account_id: str
    region: str
    api_id: str | None
    domain: str | None
    event_names: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """Done (`outcome`), or dropped / failed with a stable `code` and the `reason`."""

    status: str  # done | dropped | failed
    outcome: str | None = None
    application_id: uuid.UUID | None = None
    code: str | None = None
    reason: str | None = None


def _dropped(code: str, reason: str) -> Outcome:
    return Outcome(status="dropped", code=code, reason=reason)


def _failed(failure: AwsFailure | DomainError) -> Outcome:
    code, hint = failure.code, failure.hint
    message = failure.message if isinstance(failure, AwsFailure) else failure.detail
    return Outcome(status="failed", code=code, reason=f"{message} {hint}" if hint else message)


@dataclass(frozen=True)
class _Schedule:
    """What of the connection's schedule decides whether a new API is onboarded (its scope
    rules are `_Context.rules`)."""

    regions: list[str]
    scope: str
    published_after: date | None
    timezone: str


@dataclass(frozen=True)
class _Context:
    tenant_id: uuid.UUID
    target: DiscoveryTarget
    onboarding: applications.Services
    own_account: str | None
    partition: str
    schedule: _Schedule | None
    rules: Scope


def sync(
    database: Database,
    request: Request,
    *,
    services_for: Callable[[Tenant], applications.Services],
    keep: int,
) -> Outcome:
    """Sync or onboard what the request names; never raises for what AWS answers."""
    context = _context(database, request.connection_id, services_for)
    if context is None:
        return _dropped(CONNECTION_DELETED, "The connection was deleted.")
    reason = _unreachable(context, request)
    if reason is not None:
        return reason
    try:
        return _sync(database, context, request, keep)
    except AccountNotReached:
        return _dropped(
            ACCOUNT_NOT_REACHED,
            f"The connection does not reach account {request.account_id}.",
        )
    except AwsError as exc:
        return _failed(exc.failure)
    except DomainError as exc:
        return _failed(exc)


def _context(
    database: Database,
    connection_id: uuid.UUID,
    services_for: Callable[[Tenant], applications.Services],
) -> _Context | None:
    with database.session() as session:
        connection = session.get(Connection, connection_id)
        if connection is None:
            return None
        tenant = session.get_one(Tenant, connection.tenant_id)
        onboarding = services_for(tenant)
        schedule = session.scalars(
            select(AutoOnboardSchedule).where(AutoOnboardSchedule.connection_id == connection_id)
        ).one_or_none()
        fields = None
        rules = Scope()
        if schedule is not None:
            fields = _Schedule(
                regions=list(schedule.regions),
                scope=schedule.scope,
                published_after=schedule.published_after,
                timezone=schedule.timezone,
            )
            rules = Scope.of(schedule)
        return _Context(
            tenant_id=tenant.id,
            target=target_of(connection, onboarding.box, onboarding.context),
            onboarding=onboarding,
            # A role's account is in its ARN; an IAM user's is known once it was tested.
            own_account=connection.account_id
            or (account_of_arn(connection.role_arn) if connection.role_arn else None),
            partition=partition_of(connection),
            schedule=fields,
            rules=rules,
        )


def _unreachable(context: _Context, request: Request) -> Outcome | None:
    """Why the trigger cannot be acted on, known without AWS; None when it can."""
    if request.region not in apigateway_regions(context.partition):
        return _dropped(
            REGION_NOT_REACHED,
            f"Region {request.region} is not an API Gateway region of the connection's "
            f"partition ({context.partition}).",
        )
    central = isinstance(context.target.spec, CentralRoleCredentials)
    if not central and context.own_account and request.account_id != context.own_account:
        return _dropped(
            ACCOUNT_NOT_REACHED,
            f"The connection reaches account {context.own_account} only, not {request.account_id}.",
        )
    if request.region in context.rules.exclude_regions:
        return _dropped(
            OUT_OF_SCOPE, f"The schedule leaves region {request.region} out (exclude_regions)."
        )
    return None


def _account_reason(context: _Context, account_id: str) -> str | None:
    units = OrganizationalUnits()
    if context.rules.organizational_units:
        units = context.onboarding.engine.organizational_units(
            context.target.spec, context.onboarding.context, context.rules.organizational_units
        )
        if units.failures:
            return "the schedule's organizational units could not be read: " + "; ".join(
                failure.message for failure in units.failures.values()
            )
    return context.rules.account_reason(account_id, units)


def _applications(database: Database, context: _Context, request: Request) -> list[uuid.UUID]:
    where = (
        Application.tenant_id == context.tenant_id,
        Application.account_id == request.account_id,
        Application.region == request.region,
    )
    with database.session() as session:
        if request.api_id is not None:
            statement = select(Application.id).where(*where, Application.api_id == request.api_id)
        else:
            host = f"https://{request.domain}"
            statement = (
                select(Application.id)
                .join(ApplicationInstance, ApplicationInstance.application_id == Application.id)
                .where(
                    *where,
                    or_(ApplicationInstance.url == host, ApplicationInstance.url.like(f"{host}/%")),
                )
                .distinct()
            )
        return list(session.scalars(statement))


def _sync(database: Database, context: _Context, request: Request, keep: int) -> Outcome:
    reason = _account_reason(context, request.account_id)
    if reason is not None:
        return _dropped(
            OUT_OF_SCOPE, f"Account {request.account_id} is out of the schedule's scope: {reason}."
        )
    found = _applications(database, context, request)
    if found:
        outcomes = [_sync_application(database, context, request, i, keep) for i in found]
        changed = [o for o in outcomes if o.outcome not in (UNCHANGED, None)]
        return (changed or outcomes)[0]
    if request.api_id is None:
        return Outcome(status="done", outcome=UNCHANGED)  # no application answers there
    return _onboard(database, context, request, keep)


def _describe(
    context: _Context,
    request: Request,
    api_id: str,
    *,
    domains: bool,
    protocol: str | None = None,
) -> tuple[DiscoveredApi | None, bool]:
    def work(access: RegionAccess) -> tuple[DiscoveredApi | None, bool]:
        api = describe_api(
            call=access.call,
            client_for=access.client_for,
            account_id=access.account_id,
            region=request.region,
            api_id=api_id,
            protocol=protocol,
        )
        problems: list[AwsFailure] = []
        if api is not None and domains:
            add_domains(call=access.call, client_for=access.client_for, api=api, problems=problems)
        return api, not problems

    return context.onboarding.engine.in_region(
        context.target.spec,
        context.onboarding.context,
        account_id=request.account_id,
        region=request.region,
        work=work,
    )


def _inspect_and_write(
    database: Database, context: _Context, job: jobs.Job, keep: int
) -> jobs.Written:
    """What AWS says of the job's stages (no session held), then its write."""
    inspected = jobs.inspect(context.target, context.onboarding, job)
    return jobs.write(
        database,
        context.target,
        tenant_id=context.tenant_id,
        job=job,
        inspected=inspected,
        keep=keep,
    )


def _sync_application(
    database: Database, context: _Context, request: Request, application_id: uuid.UUID, keep: int
) -> Outcome:
    with database.session() as session:
        application = session.get(Application, application_id)
        if application is None:
            return Outcome(status="done", outcome=UNCHANGED)
        session.refresh(application, ["instances"])
        stored = lifecycle.states_of(application)
        with_domains = (
            lifecycle.has_domain_instances(application)
            or request.domain is not None
            or bool(_DOMAIN_EVENTS.intersection(request.event_names))
        )
        api_id, protocol = application.api_id, application.protocol
        session.expunge(application)
    api, domains_known = _describe(
        context, request, api_id, domains=with_domains, protocol=protocol
    )
    if api is None:
        with database.session() as session:
            current = session.get(Application, application_id)
            if current is None:
                return Outcome(status="done", outcome=UNCHANGED)
            synced = lifecycle.apply(
                session, current, None, domains_known=True, keep=keep, now=utcnow()
            )
        return Outcome(
            status="done",
            outcome=RETIRED if synced.retired else UNCHANGED,
            application_id=application_id,
        )
    job = jobs.sync_job(application, api, stored, domains_known=domains_known)
    if job is None:
        with database.session() as session:
            session.execute(
                update(Application)
                .where(Application.id == application_id)
                .values(last_synced_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        return Outcome(status="done", outcome=UNCHANGED, application_id=application_id)
    written = _inspect_and_write(database, context, job, keep)
    return Outcome(
        status="done",
        outcome=SYNCED if written.changed else UNCHANGED,
        application_id=application_id,
    )


def _onboard(database: Database, context: _Context, request: Request, keep: int) -> Outcome:
    schedule = context.schedule
    assert request.api_id is not None
    if schedule is None:
        return _dropped(
            NO_SCHEDULE,
            f"API {request.api_id} is not onboarded, and new APIs are onboarded from events "
            "only for a connection with an auto-onboard schedule (its scope applies).",
        )
    if schedule.regions and request.region not in schedule.regions:
        return _dropped(
            OUT_OF_SCOPE,
            f"The schedule onboards APIs in {', '.join(schedule.regions)} only, not in "
            f"{request.region}.",
        )
    api, _ = _describe(context, request, request.api_id, domains=True)
    if api is None:
        return Outcome(status="done", outcome=GONE)  # deleted since, or never deployed
    reason = context.rules.api_reason(api)
    if reason is not None:
        return _dropped(OUT_OF_SCOPE, f"API {api.api_id} is out of the schedule's scope: {reason}.")
    if not jobs.published_in_scope(
        api,
        scope=schedule.scope,
        published_after=schedule.published_after,
        timezone=schedule.timezone,
    ):
        return _dropped(
            OUT_OF_SCOPE,
            f"API {api.api_id} was published before {schedule.published_after}, and the "
            "schedule onboards only APIs published after that day.",
        )
    urls = jobs.stage_urls_of(api)
    if not urls:
        # Not dropped: its first deployment (CreateDeployment, CreateStage) is another event.
        return Outcome(status="done", outcome=NO_STAGE)
    if context.rules.approval:
        with database.session() as session:
            kept = candidates.hold(
                session,
                tenant_id=context.tenant_id,
                connection_id=context.target.connection_id,
                run_id=None,
                api=api,
                urls=urls,
                now=utcnow(),
            )
        if kept != candidates.HELD:
            return _dropped(
                OUT_OF_SCOPE,
                f"API {api.api_id} was dismissed: it is not offered again until its stages or "
                "deployments change.",
            )
        return Outcome(status="done", outcome=HELD)
    try:
        written = _inspect_and_write(database, context, jobs.Job(api, list(urls)), keep)
    except ConflictError as exc:
        if exc.code == "connection_deleted":
            return _dropped(CONNECTION_DELETED, exc.detail)
        return Outcome(status="done", outcome=UNCHANGED)  # onboarded meanwhile (a run, a person)
    logger.info(
        "application onboarded from a change event",
        extra={"application_id": str(written.application_id), "api_id": api.api_id},
    )
    return Outcome(status="done", outcome=ONBOARDED, application_id=written.application_id)
