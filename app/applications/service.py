"""Applications: onboarded APIs with their instance URLs, definition and attack surface.

Onboarding reads what it needs of the connection, ends that transaction, asks AWS (the API,
its stages, its resources or routes, its export), and only then writes the application, its
instances and its definition in one savepoint. A failure anywhere before the write leaves
nothing behind; the unique constraint on (tenant, account, region, API) decides between two
simultaneous onboardings of the same API.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, raiseload

from app.applications.schemas import ApplicationCreate, InstanceSelection
from app.applications.views import primary
from app.connections import service as connections
from app.core.errors import (
    ConflictError,
    NotFoundError,
    UpstreamError,
    ValidationFailedError,
)
from app.core.pagination import paginate
from app.core.repository import TenantRepository
from app.core.security import SecretBox
from app.discovery.service import (
    DiscoveryTarget,
    target_of,
    upstream,
    validate_region,
)
from app.integrations.aws.apigateway import DiscoveredApi, add_domains, describe_api
from app.integrations.aws.credentials import ProbeContext
from app.integrations.aws.definitions import (
    DefinitionError,
    StageDefinition,
    StageReader,
    Surface,
    with_servers,
)
from app.integrations.aws.discovery import AccountNotReached, DiscoveryEngine, RegionAccess
from app.integrations.aws.errors import AwsError
from app.integrations.aws.protections import instance_mutual_tls, stage_protections
from app.lifecycle import changes
from app.models import (
    Application,
    ApplicationDefinition,
    ApplicationInstance,
    Connection,
    Tenant,
)
from app.models.base import utcnow

logger = logging.getLogger(__name__)

ApiKey = tuple[str, str, str]  # (account_id, region, api_id)


class ApplicationRepository(TenantRepository[Application]):
    model = Application
    noun = "application"

    def by_api(self, account_id: str, region: str, api_id: str) -> Application | None:
        statement = self.statement().where(
            Application.account_id == account_id,
            Application.region == region,
            Application.api_id == api_id,
        )
        found: Application | None = self.session.scalars(statement).one_or_none()
        return found


@dataclass(frozen=True)
class Inspection:
    """What AWS says about one API, gathered before anything is written."""

    api: DiscoveredApi
    instances: list[tuple[str, str | None]]  # (url, stage)
    # What each stage read serves (every stage of the instances, or only the new ones).
    stages: tuple[StageDefinition, ...] = ()


@dataclass(frozen=True)
class Services:
    """What onboarding needs besides the database: AWS access and its limits."""

    engine: DiscoveryEngine
    box: SecretBox
    context: ProbeContext
    max_definition_bytes: int


# ------------------------------------------------------------------------------ errors
def _already_onboarded(existing: Application) -> ConflictError:
    return ConflictError(
        f"API {existing.api_id} in account {existing.account_id}, region {existing.region} is "
        f"onboarded already as application {existing.id}.",
        hint="Open the application in the console and choose Add Instances, or add instance "
        f"URLs with POST /applications/{existing.id}/instances.",
        extra={"application_id": str(existing.id)},
    )


def _connection_deleted(detail: str, *, hint: str) -> ConflictError:
    return ConflictError(detail, code="connection_deleted", hint=hint)


def _api_not_found(account_id: str, region: str, api_id: str) -> NotFoundError:
    return NotFoundError(
        f"API {api_id} does not exist in account {account_id}, region {region}.",
        code="api_not_found",
        hint="It may have been deleted in AWS after it was listed; list the region's APIs "
        "again (GET /connections/{id}/apis?region=...&refresh=true).",
    )


def definition_failed(exc: DefinitionError, api: DiscoveredApi, max_bytes: int) -> UpstreamError:
    if exc.code == "definition_too_large":
        hint = (
            f"The export is over {max_bytes} bytes; the operator can raise "
            "ONBOARDER_MAX_DEFINITION_BYTES."
        )
    else:
        hint = (
            "AWS answered an export that is not an OpenAPI document. Try again; if it "
            "persists, check the API's definition in the API Gateway console."
        )
    return UpstreamError(f"{exc} (API {api.api_id})", code=exc.code, hint=hint)


# ------------------------------------------------------------------------------ selection
def stage_urls(api: DiscoveredApi, stage_name: str) -> list[str]:
    """The URLs a stage answers at: its execute-api URLs, else its custom domains."""
    for stage in api.stages:
        if stage.name == stage_name:
            if stage.instance_urls:
                return list(stage.instance_urls)
            # The execute-api endpoint is disabled: the stage is reached by its domains only.
            return [d.url for d in api.custom_domains if d.stage == stage_name]
    return []


def offered_urls(api: DiscoveredApi) -> dict[str, str | None]:
    """Every URL the API answers at, with its stage (custom domains once they are loaded)."""
    offered: dict[str, str | None] = {}
    for stage in api.stages:
        for url in stage.instance_urls:
            offered[url] = stage.name
    for domain in api.custom_domains:
        offered.setdefault(domain.url, domain.stage)
    return offered


def _normalized(url: str) -> str:
    return url.rstrip("/") if url.count("/") > 2 else url


def select_instances(
    api: DiscoveredApi, selection: InstanceSelection, *, load_domains: Any
) -> list[tuple[str, str | None]]:
    """The (url, stage) pairs chosen, each checked against what the API really offers."""
    if not selection.instance_urls and not selection.stages:
        raise ValidationFailedError(
            "instance_urls",
            "give at least one instance URL, or the stages whose URLs to use",
            hint="GET /connections/{id}/apis lists each stage's instance URLs.",
        )
    stage_names = [stage.name for stage in api.stages]
    wanted = [_normalized(url) for url in selection.instance_urls]
    offered = offered_urls(api)
    # Custom domains take a listing of the whole region: only when a URL asks for them, or a
    # stage has no execute-api URL of its own.
    if any(url not in offered for url in wanted) or any(
        not stage_urls(api, name) for name in selection.stages if name in stage_names
    ):
        load_domains()
        offered = offered_urls(api)
    chosen: dict[str, str | None] = {}
    for index, name in enumerate(selection.stages):
        if name not in stage_names:
            deployed = ", ".join(stage_names) or "none: deploy the API to a stage first"
            raise ValidationFailedError(
                f"stages[{index}]",
                f"API {api.api_id} has no stage {name!r}; its stages: {deployed}",
            )
        urls = stage_urls(api, name)
        if not urls:
            raise ValidationFailedError(
                f"stages[{index}]",
                f"stage {name!r} has no URL: the API's default endpoint is disabled and no "
                "custom domain maps to the stage",
            )
        chosen.update(dict.fromkeys(urls, name))
    for index, url in enumerate(wanted):
        if url not in offered:
            known = ", ".join(sorted(offered)[:10]) or "none: deploy the API to a stage first"
            raise ValidationFailedError(
                f"instance_urls[{index}]", f"is not a URL of API {api.api_id}; its URLs: {known}"
            )
        chosen[url] = offered[url]
    return list(chosen.items())


# ------------------------------------------------------------------------------ AWS
def inspect(
    *,
    target: DiscoveryTarget,
    services: Services,
    account_id: str | None,
    region: str,
    api_id: str,
    selection: InstanceSelection,
    listed: DiscoveredApi | None = None,
    known_stages: Iterable[str | None] = (),
) -> Inspection:
    """Ask AWS for the API, check the chosen instances, and read what each of their stages
    serves (all but `known_stages`, whose definitions are stored already).

    `listed`: the API as a discovery listed it moments ago (auto-onboard), so that it is not
    asked for again; an API deleted since is still found out by the calls that follow.
    """

    def work(access: RegionAccess) -> Inspection:
        try:
            return look(access)
        except AwsError as exc:
            if exc.failure.code != "not_found":
                raise
            # Gone between two requests of this onboarding.
            raise _api_not_found(access.account_id, region, api_id) from None

    def look(access: RegionAccess) -> Inspection:
        api = listed or describe_api(
            call=access.call,
            client_for=access.client_for,
            account_id=access.account_id,
            region=region,
            api_id=api_id,
        )
        if api is None:
            raise _api_not_found(access.account_id, region, api_id)
        instances = select_instances(
            api,
            selection,
            load_domains=lambda: add_domains(
                call=access.call, client_for=access.client_for, api=api
            ),
        )
        known = set(known_stages)
        stages = [stage for stage in dict.fromkeys(s for _, s in instances) if stage not in known]
        if not stages:
            return Inspection(api=api, instances=instances)
        return _with_stages(access, api, stages, instances, services.max_definition_bytes)

    try:
        return services.engine.in_region(
            target.spec, target.context, account_id=account_id, region=region, work=work
        )
    except AccountNotReached as exc:
        if exc.account_id is None:
            raise ValidationFailedError(
                "account_id",
                "is required: a central_role connection reaches every account of the organization",
                hint="GET /connections/{id}/accounts lists them.",
            ) from None
        raise ValidationFailedError(
            "account_id",
            f"account {exc.account_id} is not reached by this connection",
            hint="GET /connections/{id}/accounts lists the accounts it reaches.",
        ) from None
    except AwsError as exc:
        raise upstream(exc) from None


def _with_stages(
    access: RegionAccess,
    api: DiscoveredApi,
    stages: list[str | None],
    instances: list[tuple[str, str | None]],
    max_bytes: int,
) -> Inspection:
    reader = StageReader(
        call=access.call, client_for=access.client_for, api=api, max_bytes=max_bytes
    )
    try:
        read = tuple(reader.read(stage) for stage in stages)
    except DefinitionError as exc:
        raise definition_failed(exc, api, max_bytes) from None
    return Inspection(api=api, instances=instances, stages=read)


# ------------------------------------------------------------------------------ storing
def _surface_values(surface: Surface) -> dict[str, Any]:
    return {
        **surface.counts(),
        "exposure": surface.exposure,
        "authorizer_types": surface.authorizer_types,
    }


def stage_updated_at(api: DiscoveredApi, stage: str | None) -> Any:
    """The stage's lastUpdatedDate as AWS listed it (what a sync compares)."""
    return next((s.updated_at for s in api.stages if s.name == stage), None)


def definition_row(
    read: StageDefinition, version: int, api: DiscoveredApi
) -> ApplicationDefinition:
    definition = read.definition
    document = json.dumps(definition.document, sort_keys=True, separators=(",", ":"))
    encoded = document.encode()
    canary = read.canary
    return ApplicationDefinition(
        stage=read.stage,
        version=version,
        current=True,
        deployment_id=read.deployment_id,
        format=definition.format,
        source=read.source,
        document_source=definition.source,
        export_error=definition.export_error,
        valid=read.validation.valid,
        validation_errors=list(read.validation.errors),
        document=document,
        sha256=hashlib.sha256(encoded).hexdigest(),
        size_bytes=len(encoded),
        **_surface_values(read.surface),
        operation_list=[op.as_dict() for op in read.surface.operations],
        canary=None
        if canary is None
        else {
            "deployment_id": canary.deployment_id,
            "percent_traffic": canary.percent_traffic,
            "source": canary.source,
            **(canary.surface.counts() if canary.surface else {}),
        },
        canary_operation_list=None
        if canary is None or canary.surface is None
        else [op.as_dict() for op in canary.surface.operations],
        fetched_at=utcnow(),
        stage_updated_at=stage_updated_at(api, read.stage),
    )


def protections_of(api: DiscoveredApi, stages: Iterable[str | None]) -> list[dict[str, Any]]:
    return [stage_protections(api, stage).as_dict() for stage in dict.fromkeys(stages)]


def _instance(api: DiscoveredApi, url: str, stage: str | None) -> ApplicationInstance:
    domain = next(
        (d for d in api.custom_domains if d.url == url and d.stage == stage and d.required_headers),
        None,
    )
    private_domain = any(
        d.url == url and d.reachable_from == "vpc_only" for d in api.custom_domains
    )
    return ApplicationInstance(
        url=url,
        stage=stage,
        reachable_from="vpc_only" if private_domain else api.reachable_from,
        mutual_tls=instance_mutual_tls(api, url),
        required_headers=dict(domain.required_headers) if domain else None,
    )


def store(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    connection_id: uuid.UUID,
    inspection: Inspection,
    name: str | None,
    onboarded_via: str,
) -> Application:
    """Write the application with its instances and definition, or 409 naming the one there."""
    api = inspection.api
    application = Application(
        tenant_id=tenant_id,
        name=name or api.name,
        connection_id=connection_id,
        account_id=api.account_id,
        region=api.region,
        api_id=api.api_id,
        protocol=api.protocol,
        endpoint_type=api.endpoint_type,
        onboarded_via=onboarded_via,
        instances=[_instance(api, url, stage) for url, stage in inspection.instances],
        definitions=[definition_row(read, 1, api) for read in inspection.stages],
        protections=protections_of(api, (stage for _, stage in inspection.instances)),
    )
    try:
        with session.begin_nested():
            session.add(application)
            session.flush()
            changes.record(
                session,
                application,
                changes.ONBOARDED,
                "Onboarded"
                + (" by auto-onboard" if onboarded_via == "auto_onboard" else "")
                + f" with {len(inspection.instances)} instance URL"
                + ("s." if len(inspection.instances) != 1 else "."),
                details={"instances": [url for url, _ in inspection.instances]},
            )
            session.flush()
    except IntegrityError:
        existing = ApplicationRepository(session, tenant_id).by_api(*api.key)
        if existing is not None:
            raise _already_onboarded(existing) from None
        if connections.ConnectionRepository(session, tenant_id).find(connection_id) is None:
            raise _connection_deleted(
                "The connection was deleted while the API was being onboarded.",
                hint="Create the connection again, then onboard the API.",
            ) from None
        raise
    logger.info(
        "application onboarded",
        extra={
            "application_id": str(application.id),
            "api_id": api.api_id,
            "region": api.region,
            "onboarded_via": onboarded_via,
        },
    )
    return application


# ------------------------------------------------------------------------------ use cases
def onboard(
    *, session: Session, tenant: Tenant, data: ApplicationCreate, services: Services
) -> Application:
    connection = connections.ConnectionRepository(session, tenant.id).find(data.connection_id)
    if connection is None:
        raise ValidationFailedError("connection_id", f"no connection with id {data.connection_id}")
    target = target_of(connection, services.box, services.context)
    region = validate_region(target, data.region)
    account_id = data.account_id
    if account_id is None and connection.credential_type != "central_role":
        account_id = connection.account_id  # what the last test found; AWS is asked if unknown
    if account_id is not None:
        existing = ApplicationRepository(session, tenant.id).by_api(account_id, region, data.api_id)
        if existing is not None:
            raise _already_onboarded(existing)
    # AWS can take seconds to answer: no transaction stays open meanwhile.
    session.commit()
    inspection = inspect(
        target=target,
        services=services,
        account_id=data.account_id,
        region=region,
        api_id=data.api_id,
        selection=data,
    )
    return store(
        session=session,
        tenant_id=tenant.id,
        connection_id=connection.id,
        inspection=inspection,
        name=data.name,
        onboarded_via="manual",
    )


def connection_of(
    session: Session, application: Application, *, detail: str, hint: str
) -> Connection:
    """The application's connection, or a 409 `connection_deleted` saying what that stops."""
    connection = (
        None
        if application.connection_id is None
        else connections.ConnectionRepository(session, application.tenant_id).find(
            application.connection_id
        )
    )
    if connection is None:
        raise _connection_deleted(detail, hint=hint)
    return connection


def add_instances(
    *,
    session: Session,
    application: Application,
    selection: InstanceSelection,
    services: Services,
) -> Application:
    connection = connection_of(
        session,
        application,
        detail="The connection that onboarded this application was deleted; its instances can "
        "no longer be checked against AWS.",
        hint="Delete the application and onboard the API again through a connection.",
    )
    target = target_of(connection, services.box, services.context)
    known_stages = [definition.stage for definition in application.current_definitions]
    session.commit()
    inspection = inspect(
        target=target,
        services=services,
        account_id=application.account_id,
        region=application.region,
        api_id=application.api_id,
        selection=selection,
        known_stages=known_stages,
    )
    add_inspected(session=session, application=application, inspection=inspection)
    return application


def add_inspected(*, session: Session, application: Application, inspection: Inspection) -> int:
    """The inspection's new instances, and the definitions of its new stages, added to the
    application in one savepoint; how many instances were added."""
    api = inspection.api
    with session.begin_nested():
        added = insert_instances(
            session=session,
            application=application,
            instances=inspection.instances,
            api=api,
        )
        have = {definition.stage for definition in application.current_definitions}
        new = 0
        for read in inspection.stages:
            if read.stage in have:
                continue
            latest = max(
                (d.version for d in application.definitions if d.stage == read.stage), default=0
            )
            row = definition_row(read, latest + 1, api)
            row.application_id = application.id
            try:
                with session.begin_nested():
                    session.add(row)
                    session.flush()
            except IntegrityError:
                continue  # the same stage read by a request running at the same time
            new += 1
        if new or added:
            stages = [instance.stage for instance in application.instances]
            application.protections = protections_of(api, stages)
            application.updated_at = utcnow()
            session.flush()
            session.refresh(application, ["definitions"])
    return added


def insert_instances(
    *,
    session: Session,
    application: Application,
    instances: Iterable[tuple[str, str | None]],
    api: DiscoveredApi,
) -> int:
    """Add the (url, stage) pairs the application does not have yet; how many were added."""
    known = {instance.url for instance in application.instances}
    added = 0
    for url, stage in dict(instances).items():
        if url in known:
            continue
        try:
            with session.begin_nested():
                instance = _instance(api, url, stage)
                instance.application_id = application.id
                session.add(instance)
                changes.record(
                    session,
                    application,
                    changes.INSTANCE_ADDED,
                    f"Instance {url} added" + (f" (stage {stage})." if stage else "."),
                    stage=stage,
                    details={"url": url},
                )
                session.flush()
        except IntegrityError:
            continue  # added by a request running at the same time
        added += 1
    if added:
        application.updated_at = utcnow()
        session.flush()
        session.refresh(application, ["instances"])
    return added


def get(*, session: Session, tenant: Tenant, application_id: uuid.UUID) -> Application:
    return ApplicationRepository(session, tenant.id).get(application_id)


@dataclass(frozen=True)
class ApplicationListing:
    """A page of applications with their instances and definition summaries, read as plain
    columns: one query per table for the page, no ORM objects for the page's instances (an
    application can have dozens), and never the stored documents."""

    applications: list[Application]
    instances: dict[uuid.UUID, list[Row[Any]]]
    definitions: dict[uuid.UUID, list[Row[Any]]]  # the current one of each stage
    next_cursor: str | None


_INSTANCE_COLUMNS = (
    ApplicationInstance.application_id,
    ApplicationInstance.url,
    ApplicationInstance.stage,
    ApplicationInstance.created_at,
    ApplicationInstance.reachable_from,
    ApplicationInstance.mutual_tls,
    ApplicationInstance.required_headers,
    ApplicationInstance.status,
    ApplicationInstance.retired_at,
)
_DEFINITION_SUMMARY_COLUMNS = tuple(
    column
    for column in ApplicationDefinition.__table__.columns
    if column.key not in {"document", "operation_list", "canary_operation_list"}
)


def list_page(
    *,
    session: Session,
    tenant: Tenant,
    filters: dict[str, Any],
    limit: int,
    cursor: str | None,
    name_contains: str | None = None,
) -> ApplicationListing:
    statement = (
        ApplicationRepository(session, tenant.id)
        .statement()
        .options(raiseload(Application.instances), raiseload(Application.definitions))
    )
    for column, value in filters.items():
        if value is not None:
            statement = statement.where(getattr(Application, column) == value)
    if name_contains:
        # lower() on both sides: ILIKE is PostgreSQL's, and SQLite's LIKE folds ASCII only.
        statement = statement.where(
            func.lower(Application.name).contains(name_contains.lower(), autoescape=True)
        )
    rows, next_cursor = paginate(session, statement, Application, limit=limit, cursor=cursor)
    ids = [row.id for row in rows]
    instances: dict[uuid.UUID, list[Row[Any]]] = {id_: [] for id_ in ids}
    definitions: dict[uuid.UUID, list[Row[Any]]] = {id_: [] for id_ in ids}
    if ids:
        for instance in session.execute(
            select(*_INSTANCE_COLUMNS)
            .where(ApplicationInstance.application_id.in_(ids))
            .order_by(ApplicationInstance.created_at, ApplicationInstance.url)
        ):
            instances[instance.application_id].append(instance)  # type: ignore[arg-type]
        for definition in session.execute(
            select(*_DEFINITION_SUMMARY_COLUMNS)
            .where(
                ApplicationDefinition.application_id.in_(ids),
                ApplicationDefinition.current.is_(True),
            )
            .order_by(ApplicationDefinition.stage)
        ):
            definitions[definition.application_id].append(definition)
    return ApplicationListing(rows, instances, definitions, next_cursor)


def regions(*, session: Session, tenant: Tenant) -> list[tuple[str, int]]:
    """The regions the tenant's applications are in, with how many each, by region."""
    statement = (
        select(Application.region, func.count())
        .where(Application.tenant_id == tenant.id)
        .group_by(Application.region)
        .order_by(Application.region)
    )
    return [(region, count) for region, count in session.execute(statement)]


def delete(*, session: Session, application: Application) -> None:
    session.delete(application)
    session.flush()
    logger.info("application deleted", extra={"application_id": str(application.id)})


def _definition_not_found(application: Application, detail: str) -> NotFoundError:
    stages = sorted({str(d.stage) for d in application.current_definitions})
    return NotFoundError(
        f"{detail} Application {application.id} has definitions of the stages: "
        f"{', '.join(stages) or 'none'}.",
        code="definition_not_found",
        hint="GET /applications/{id} lists each stage's definition and its version.",
    )


def stage_definition(
    *, application: Application, stage: str | None, version: int | None
) -> ApplicationDefinition:
    """A stage's definition, the current version unless one is asked for; without a stage,
    the first instance's."""
    if stage is None:
        found = primary(application.current_definitions, application.instances)
        if found is None:
            raise _definition_not_found(application, "The application has no definition.")
        stage = found.stage
    versions = [d for d in application.definitions if d.stage == stage]
    if not versions:
        raise _definition_not_found(application, f"No definition of stage {stage!r}.")
    if version is None:
        chosen = next((d for d in versions if d.current), versions[-1])
    else:
        matching = [d for d in versions if d.version == version]
        if not matching:
            known = ", ".join(str(d.version) for d in versions)
            raise _definition_not_found(
                application, f"Stage {stage!r} has no version {version} (it has {known})."
            )
        chosen = matching[0]
    return chosen


def definition_document(
    *, application: Application, stage: str | None = None, version: int | None = None
) -> dict[str, Any]:
    """A stage's definition as imported, its servers set to that stage's instance URLs."""
    definition = stage_definition(application=application, stage=stage, version=version)
    document: dict[str, Any] = json.loads(definition.document)
    urls = [i.url for i in application.instances if i.stage == definition.stage]
    return with_servers(document, definition.format, urls)


def operations(
    *, application: Application, stage: str | None = None, canary: bool = False
) -> list[dict[str, Any]]:
    definition = stage_definition(application=application, stage=stage, version=None)
    if not canary:
        return list(definition.operation_list)
    if definition.canary is None:
        raise _definition_not_found(
            application, f"Stage {definition.stage!r} has no canary deployment."
        )
    if definition.canary_operation_list is None:
        raise _definition_not_found(
            application,
            f"The canary deployment of stage {definition.stage!r} answered no summary of its "
            "operations.",
        )
    return list(definition.canary_operation_list)


def ids_by_api(
    *, session: Session, tenant_id: uuid.UUID, keys: Iterable[ApiKey]
) -> dict[ApiKey, uuid.UUID]:
    """The applications of these APIs, for marking discovered APIs that are onboarded."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    statement = select(
        Application.account_id, Application.region, Application.api_id, Application.id
    ).where(
        Application.tenant_id == tenant_id,
        tuple_(Application.account_id, Application.region, Application.api_id).in_(wanted),
    )
    return {(row[0], row[1], row[2]): row[3] for row in session.execute(statement)}
