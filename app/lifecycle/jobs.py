"""One API's sync or onboarding, as a run or a change event asks for it.

A `Job` says what a listing (a run's discovery, or one API described for a change event)
asks of one API: onboard it with these stages, or, for its application, add the stages
deployed since, read again the stages whose deployment changed, and reconcile its instances.
`inspect` asks AWS (no session held), `write` writes the result alone, in one transaction
with its changes (and so its events).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from app.applications import service as applications
from app.applications.schemas import InstanceSelection
from app.core.db import Database
from app.discovery.service import DiscoveryTarget, upstream
from app.integrations.aws.apigateway import DiscoveredApi
from app.integrations.aws.definitions import StageDefinition
from app.integrations.aws.discovery import RegionAccess
from app.integrations.aws.errors import AwsError
from app.lifecycle.service import (
    StageState,
    Synced,
    apply,
    changed_stages,
    instance_stages,
    needs_write,
    read_stages,
)
from app.models import Application
from app.models.base import utcnow


def stage_urls_of(api: DiscoveredApi) -> dict[str, list[str]]:
    """The URLs of each stage that has any (a stage whose default endpoint is disabled and
    that no custom domain maps has none): the stages a new API is onboarded with."""
    urls = {stage.name: applications.stage_urls(api, stage.name) for stage in api.stages}
    return {stage: found for stage, found in urls.items() if found}


def published_in_scope(
    api: DiscoveredApi, *, scope: str, published_after: date | None, timezone: str
) -> bool:
    """A schedule's `published_after` scope: the API was created on or after that day."""
    if scope != "published_after" or published_after is None:
        return True
    if api.created_at is None:
        return True  # AWS did not say when: rather test it than miss it
    return api.created_at.astimezone(ZoneInfo(timezone)).date() >= published_after


@dataclass(frozen=True)
class Job:
    """An API to onboard with these stages; or, for its application, new stages to add, the
    stages whose deployment changed to read again, and what the listing changes of it."""

    api: DiscoveredApi
    stages: list[str]
    application: Application | None = None
    reread: tuple[str, ...] = ()
    domains_known: bool = True


def sync_job(
    application: Application,
    api: DiscoveredApi,
    stored: dict[str | None, StageState],
    *,
    domains_known: bool,
) -> Job | None:
    """What the listing asks of an onboarded API: None when nothing changed (no AWS call, no
    write but the time of the sync)."""
    new = new_stages(application, api)
    reread = tuple(changed_stages(api, stored, instance_stages(application)))
    if (
        new is None
        and not reread
        and not needs_write(application, api, domains_known=domains_known)
    ):
        return None
    return Job(
        api,
        new.stages if new else [],
        application,
        reread=reread,
        domains_known=domains_known,
    )


def new_stages(application: Application, api: DiscoveredApi) -> Job | None:
    """Stages deployed since the application was onboarded become instances of it.

    A stage that existed then and was not chosen stays out: that was someone's decision.
    """
    have = {instance.stage for instance in application.instances}
    new = [
        stage.name
        for stage in api.stages
        if stage.name not in have
        and stage.created_at is not None
        and stage.created_at > application.created_at
        and applications.stage_urls(api, stage.name)
    ]
    return Job(api, new, application) if new else None


@dataclass(frozen=True)
class Inspected:
    """What AWS said for a job: the new stages' inspection, the changed stages' readings."""

    inspection: applications.Inspection | None
    reads: tuple[StageDefinition, ...] = ()


def inspect(target: DiscoveryTarget, onboarding: applications.Services, job: Job) -> Inspected:
    """What AWS says of the job's stages: their URLs, and what each new or changed stage
    serves (nothing at all when the listing alone says what changed)."""
    inspection = None
    if job.stages:
        known = [] if job.application is None else [i.stage for i in job.application.instances]
        inspection = applications.inspect(
            target=target,
            services=onboarding,
            account_id=job.api.account_id,
            region=job.api.region,
            api_id=job.api.api_id,
            selection=InstanceSelection(stages=job.stages),
            listed=job.api,
            known_stages=known,
        )
    if not job.reread:
        return Inspected(inspection)
    limit = onboarding.max_definition_bytes

    def read(access: RegionAccess) -> tuple[StageDefinition, ...]:
        return read_stages(access, job.api, job.reread, limit)

    try:
        reads = onboarding.engine.in_region(
            target.spec,
            onboarding.context,
            account_id=job.api.account_id,
            region=job.api.region,
            work=read,
        )
    except AwsError as exc:
        raise upstream(exc) from None
    return Inspected(inspection, reads)


@dataclass(frozen=True)
class Written:
    application_id: uuid.UUID | None
    instances_added: int = 0
    synced: Synced | None = None

    @property
    def changed(self) -> bool:
        """Whether the write changed the application (not just confirmed it)."""
        synced = self.synced
        return bool(self.instances_added) or bool(
            synced and (synced.definitions_changed or synced.restored or synced.instances_retired)
        )


def write(
    database: Database,
    target: DiscoveryTarget,
    *,
    tenant_id: uuid.UUID,
    job: Job,
    inspected: Inspected,
    keep: int,
) -> Written:
    """The job's result written alone, in one transaction with its changes."""
    with database.session() as session:
        if job.application is None:
            assert inspected.inspection is not None
            application = applications.store(
                session=session,
                tenant_id=tenant_id,
                connection_id=target.connection_id,
                inspection=inspected.inspection,
                name=None,
                onboarded_via="auto_onboard",
            )
            return Written(application.id, len(application.instances))
        current = session.get(Application, job.application.id)
        if current is None:
            return Written(None)  # deleted meanwhile
        added = 0
        if inspected.inspection is not None:
            added = applications.add_inspected(
                session=session, application=current, inspection=inspected.inspection
            )
        synced = apply(
            session,
            current,
            job.api,
            inspected.reads,
            domains_known=job.domains_known,
            keep=keep,
            now=utcnow(),
            connection_id=target.connection_id,
        )
        return Written(current.id, added, synced)
