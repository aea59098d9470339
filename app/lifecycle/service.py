"""The lifecycle of an application: it mirrors its API for as long as the API exists.

A sync compares what AWS lists (stages, their deployment ids and lastUpdatedDate, the URLs
the API answers at) with what is stored, reads a stage's definition again only when its
deployment changed, and records every difference as a change in the same transaction:

- a stage whose deployment changed gets a new definition version when what it serves differs
  (versions kept up to `definition_versions_kept` per stage), with the operations' diff;
  an operation that becomes public or api_key_only is an `exposure_increased` change;
- an instance whose URL AWS no longer offers (its stage or custom-domain mapping deleted)
  is retired, and active again if the URL comes back;
- an API that is gone is `retired`; an account no connection reaches any more (it left the
  organization, was suspended or closed, or its connection was deleted) `orphaned`; either
  becomes `active` again (`restored`) when the API is listed again.

Nothing is deleted by a sync, and what AWS did not answer changes nothing. Runs call
`apply`, `retire_unlisted` and `orphan_unreached` with what their discovery listed; the
`POST /applications/{id}/sync` route calls `sync`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.applications import service as applications
from app.core.errors import ValidationFailedError
from app.discovery.service import target_of, upstream
from app.integrations.aws.apigateway import DiscoveredApi, add_domains, describe_api
from app.integrations.aws.credentials import AccountStatus
from app.integrations.aws.definitions import DefinitionError, StageDefinition, StageReader
from app.integrations.aws.discovery import AccountNotReached, RegionAccess
from app.integrations.aws.errors import AwsError, AwsFailure
from app.lifecycle import changes
from app.lifecycle.diff import describe, diff_operations
from app.models import Application, ApplicationDefinition, Connection
from app.models.base import utcnow

logger = logging.getLogger(__name__)

ACTIVE, RETIRED, ORPHANED = "active", "retired", "orphaned"
STATUSES = (ACTIVE, RETIRED, ORPHANED)
# Account states (Organizations' State, or the older Status) in which nothing can be reached.
_GONE_ACCOUNT_STATES = {"SUSPENDED", "PENDING_CLOSURE", "CLOSED"}


# ------------------------------------------------------------------------------ detection
@dataclass(frozen=True)
class StageState:
    """What a stage's current definition was read from: a sync compares it with the listing."""

    deployment_id: str | None
    updated_at: datetime | None
    canary_deployment_id: str | None


def _state(definition: ApplicationDefinition) -> StageState:
    canary = definition.canary or {}
    return StageState(
        deployment_id=definition.deployment_id,
        updated_at=definition.stage_updated_at,
        canary_deployment_id=canary.get("deployment_id"),
    )


def states_of(application: Application) -> dict[str | None, StageState]:
    return {d.stage: _state(d) for d in application.current_definitions}


def stored_states(
    session: Session, application_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str | None, StageState]]:
    """The current definitions' states of many applications: one query of a few columns (the
    documents and operation lists are never read)."""
    ids = list(application_ids)
    found: dict[uuid.UUID, dict[str | None, StageState]] = {i: {} for i in ids}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(
                ApplicationDefinition.application_id,
                ApplicationDefinition.stage,
                ApplicationDefinition.deployment_id,
                ApplicationDefinition.stage_updated_at,
                ApplicationDefinition.canary,
            ).where(
                ApplicationDefinition.application_id.in_(ids[start : start + 500]),
                ApplicationDefinition.current.is_(True),
            )
        )
        for row in rows:
            found[row.application_id][row.stage] = StageState(
                deployment_id=row.deployment_id,
                updated_at=row.stage_updated_at,
                canary_deployment_id=(row.canary or {}).get("deployment_id"),
            )
    return found


def changed_stages(
    api: DiscoveredApi, stored: dict[str | None, StageState], stages: Iterable[str | None]
) -> list[str]:
    """The stages (of `stages`, the application's) whose deployment changed since their
    definition was read, or that were never read: their definitions are read again. A stage
    AWS no longer lists is not read (its instances retire)."""
    listed = {stage.name: stage for stage in api.stages}
    changed = []
    for name in dict.fromkeys(stages):
        if name is None or name not in listed:
            continue
        stage, state = listed[name], stored.get(name)
        if (
            state is None
            or (state.deployment_id, state.canary_deployment_id)
            != (
                stage.deployment_id,
                stage.canary_deployment_id,
            )
            or (
                state.updated_at is not None
                and stage.updated_at is not None
                and state.updated_at != stage.updated_at
            )
        ):
            changed.append(name)
    return changed


def _execute_api(url: str) -> bool:
    return ".execute-api." in (urlsplit(url).hostname or "")


def instance_stages(application: Application) -> list[str | None]:
    return [i.stage for i in application.instances if i.status == ACTIVE]


def has_domain_instances(application: Application) -> bool:
    return any(not _execute_api(instance.url) for instance in application.instances)


def _instances_differ(application: Application, api: DiscoveredApi, domains_known: bool) -> bool:
    offered = applications.offered_urls(api)
    for instance in application.instances:
        if not domains_known and not _execute_api(instance.url):
            continue
        if (instance.url in offered) != (instance.status == ACTIVE):
            return True
    return False


def needs_write(application: Application, api: DiscoveredApi, *, domains_known: bool) -> bool:
    """Whether a listing changes the application even with no definition to read again."""
    return application.status != ACTIVE or _instances_differ(application, api, domains_known)


# ------------------------------------------------------------------------------ reading AWS
def read_stages(
    access: RegionAccess, api: DiscoveredApi, stages: Iterable[str], max_bytes: int
) -> tuple[StageDefinition, ...]:
    """What each stage serves now; a definition AWS cannot give is the error onboarding
    answers for it (`definition_too_large`, ...)."""
    reader = StageReader(
        call=access.call, client_for=access.client_for, api=api, max_bytes=max_bytes
    )
    try:
        return tuple(reader.read(stage) for stage in stages)
    except DefinitionError as exc:
        raise applications.definition_failed(exc, api, max_bytes) from None


# ------------------------------------------------------------------------------ writing
@dataclass
class Synced:
    """What one sync did to one application."""

    definitions_changed: int = 0
    instances_retired: int = 0
    restored: bool = False
    retired: bool = False
    kinds: list[str] = field(default_factory=list)


def retire(session: Session, application: Application, *, now: datetime) -> bool:
    if application.status == RETIRED:
        return False
    application.status, application.retired_at = RETIRED, now
    application.updated_at = now
    changes.record(
        session,
        application,
        changes.RETIRED,
        f"API {application.api_id} is gone from account {application.account_id}, region "
        f"{application.region}: the application is retired (its history and definitions "
        "are kept).",
        now=now,
    )
    return True


def orphan(session: Session, application: Application, *, reason: str, now: datetime) -> bool:
    if application.status != ACTIVE:
        return False  # a retired application stays retired: its API is gone anyway
    application.status, application.orphaned_at = ORPHANED, now
    application.updated_at = now
    changes.record(
        session,
        application,
        changes.ORPHANED,
        f"No connection reaches account {application.account_id} any more: {reason}.",
        details={"reason": reason},
        now=now,
    )
    return True


def _restore(
    session: Session, application: Application, *, connection_id: uuid.UUID | None, now: datetime
) -> None:
    was = application.status
    application.status = ACTIVE
    application.retired_at = application.orphaned_at = None
    if connection_id is not None:
        application.connection_id = connection_id
    changes.record(
        session,
        application,
        changes.RESTORED,
        "The API is listed again: the application is active again"
        + (" (it was retired)." if was == RETIRED else " (it was orphaned)."),
        details={"was": was},
        now=now,
    )


def _reconcile_instances(
    session: Session,
    application: Application,
    api: DiscoveredApi,
    *,
    domains_known: bool,
    now: datetime,
) -> int:
    offered = applications.offered_urls(api)
    retired = 0
    for instance in application.instances:
        if not domains_known and not _execute_api(instance.url):
            continue  # its custom domain could not be read this time: nothing is known
        present = instance.url in offered
        if instance.status == ACTIVE and not present:
            instance.status, instance.retired_at = RETIRED, now
            retired += 1
            changes.record(
                session,
                application,
                changes.INSTANCE_RETIRED,
                f"Instance {instance.url} retired: "
                + (
                    f"stage {instance.stage} is gone."
                    if instance.stage and instance.stage not in {s.name for s in api.stages}
                    else "AWS no longer offers this URL."
                ),
                stage=instance.stage,
                details={"url": instance.url},
                now=now,
            )
        elif instance.status == RETIRED and present:
            instance.status, instance.retired_at = ACTIVE, None
            changes.record(
                session,
                application,
                changes.INSTANCE_ADDED,
                f"Instance {instance.url} is back"
                + (f" (stage {instance.stage})." if instance.stage else "."),
                stage=instance.stage,
                details={"url": instance.url, "back": True},
                now=now,
            )
    return retired


def _new_version(
    session: Session,
    application: Application,
    read: StageDefinition,
    api: DiscoveredApi,
    *,
    keep: int,
    now: datetime,
) -> bool:
    """The stage's new reading: a new version if what it serves differs from the current one
    (then the changes), else the current one notes the deployment it was confirmed on."""
    versions = [d for d in application.definitions if d.stage == read.stage]
    current = next((d for d in versions if d.current), None)
    row = applications.definition_row(read, max((d.version for d in versions), default=0) + 1, api)
    if current is not None and (current.sha256, current.canary, current.operation_list) == (
        row.sha256,
        row.canary,
        row.operation_list,
    ):
        current.deployment_id = row.deployment_id
        current.stage_updated_at = row.stage_updated_at
        current.fetched_at = now
        return False
    if current is not None:
        current.current = False
    row.application_id = application.id
    session.add(row)
    session.flush()
    if current is not None:
        _record_diff(session, application, current, row, now=now)
    for old in sorted(versions, key=lambda d: d.version)[: max(0, len(versions) + 1 - keep)]:
        if old is not current:
            session.delete(old)
    return True


def _record_diff(
    session: Session,
    application: Application,
    before: ApplicationDefinition,
    after: ApplicationDefinition,
    *,
    now: datetime,
) -> None:
    stage = after.stage
    diff = diff_operations(before.operation_list, after.operation_list)
    where = f"stage {stage}" if stage else "the API"
    parts = []
    if diff.added:
        parts.append(f"added {describe(diff.added)}")
    if diff.removed:
        parts.append(f"removed {describe(diff.removed)}")
    if diff.changed:
        parts.append(f"changed access to {describe(diff.changed)}")
    summary = (
        f"The definition of {where} changed (version {before.version} → {after.version}): "
        + ("; ".join(parts) if parts else "the document changed, not its operations")
        + "."
    )
    changes.record(
        session,
        application,
        changes.DEFINITION_CHANGED,
        summary,
        stage=stage,
        details={
            "version_before": before.version,
            "version_after": after.version,
            "deployment_before": before.deployment_id,
            "deployment_after": after.deployment_id,
            "operations_added": diff.added,
            "operations_removed": diff.removed,
            "operations_changed": diff.changed,
        },
        now=now,
    )
    if diff.increased:
        changes.record(
            session,
            application,
            changes.EXPOSURE_INCREASED,
            f"{describe(diff.increased)} on {where} "
            + ("is" if len(diff.increased) == 1 else "are")
            + " now reachable without authentication: "
            + ", ".join(
                f"{entry['method']} {entry['path']} {entry['before'] or 'new'} → {entry['after']}"
                for entry in diff.increased[:5]
            )
            + ".",
            stage=stage,
            details={"operations": diff.increased, "version": after.version},
            now=now,
        )
    if diff.decreased:
        changes.record(
            session,
            application,
            changes.EXPOSURE_DECREASED,
            f"{describe(diff.decreased)} on {where} "
            + ("is" if len(diff.decreased) == 1 else "are")
            + " no longer reachable without authentication.",
            stage=stage,
            details={"operations": diff.decreased, "version": after.version},
            now=now,
        )


def apply(
    session: Session,
    application: Application,
    api: DiscoveredApi | None,
    reads: Iterable[StageDefinition] = (),
    *,
    domains_known: bool,
    keep: int,
    now: datetime,
    connection_id: uuid.UUID | None = None,
) -> Synced:
    """Write what one sync found of the application's API (None: it is gone)."""
    synced = Synced()
    application.last_synced_at = now
    if api is None:
        synced.retired = retire(session, application, now=now)
        return synced
    if application.status != ACTIVE:
        _restore(session, application, connection_id=connection_id, now=now)
        synced.restored = True
    synced.instances_retired = _reconcile_instances(
        session, application, api, domains_known=domains_known, now=now
    )
    for read in reads:
        synced.definitions_changed += _new_version(
            session, application, read, api, keep=keep, now=now
        )
    protections = applications.protections_of(api, instance_stages(application))
    if protections != application.protections:
        application.protections = protections
    if synced.definitions_changed or synced.instances_retired or synced.restored:
        application.updated_at = now
    session.flush()
    if synced.definitions_changed:
        session.refresh(application, ["definitions"])
    return synced


# ------------------------------------------------------------------------------ many at once
# (application id, account id, region) of an application a run changed without AWS.
Changed = tuple[uuid.UUID, str, str]


def _candidates(session: Session, *where: Any) -> list[Any]:
    """The few columns a run compares, for every application matching `where`: no ORM rows
    (and none of their instances or definitions) for the many that do not change."""
    return list(
        session.execute(
            select(
                Application.id, Application.account_id, Application.region, Application.api_id
            ).where(*where)
        )
    )


def retire_unlisted(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    reached: set[tuple[str, str]],
    listed: set[tuple[str, str, str]],
    now: datetime,
) -> list[Changed]:
    """Retire the tenant's applications in the account-regions a discovery listed completely
    whose API it did not list."""
    accounts = sorted({account for account, _ in reached})
    gone = [
        row
        for start in range(0, len(accounts), 500)
        for row in _candidates(
            session,
            Application.tenant_id == tenant_id,
            Application.account_id.in_(accounts[start : start + 500]),
            Application.status != RETIRED,
        )
        if (row.account_id, row.region) in reached
        and (row.account_id, row.region, row.api_id) not in listed
    ]
    retired: list[Changed] = []
    for row in gone:
        application = session.get_one(Application, row.id)
        application.last_synced_at = now
        if retire(session, application, now=now):
            retired.append((row.id, row.account_id, row.region))
    session.flush()
    return retired


def orphan_unreached(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    connection_id: uuid.UUID,
    accounts: list[AccountStatus],
    now: datetime,
) -> list[Changed]:
    """An organization's listing is complete: the connection's applications in an account
    it no longer lists, or one suspended or closed, are orphaned."""
    states = {account.account_id: (account.status or "").upper() for account in accounts}
    orphaned: list[Changed] = []
    for row in _candidates(
        session,
        Application.tenant_id == tenant_id,
        Application.connection_id == connection_id,
        Application.status == ACTIVE,
    ):
        state = states.get(row.account_id)
        if state is None:
            reason = "the account is no longer in the organization"
        elif state in _GONE_ACCOUNT_STATES:
            reason = f"the account is {state.lower().replace('_', ' ')}"
        else:
            continue
        application = session.get_one(Application, row.id)
        if orphan(session, application, reason=reason, now=now):
            orphaned.append((row.id, row.account_id, row.region))
    session.flush()
    return orphaned


def orphan_for_deleted_connection(
    session: Session, *, tenant_id: uuid.UUID, connection_id: uuid.UUID, now: datetime
) -> int:
    """Before a connection goes: its applications move to another connection of the tenant
    known to reach the same account, or are orphaned; how many were orphaned.

    Known without asking AWS: a connection whose own account it is, or one (a central role)
    with an active application in that account. Otherwise the application is orphaned, and
    the next run of a connection that reaches it restores it."""
    through_applications = session.execute(
        select(Application.account_id, Application.connection_id)
        .where(
            Application.tenant_id == tenant_id,
            Application.status == "active",
            Application.connection_id.is_not(None),
            Application.connection_id != connection_id,
        )
        .distinct()
    ).all()
    reach = {row.account_id: row.connection_id for row in through_applications}
    own_accounts = session.execute(
        select(Connection.id, Connection.account_id).where(
            Connection.tenant_id == tenant_id,
            Connection.id != connection_id,
            Connection.account_id.is_not(None),
        )
    ).all()
    # A connection in the account itself first: it needs no child role to get there.
    reach.update({row.account_id: row.id for row in own_accounts})
    orphaned = 0
    candidates = session.scalars(
        select(Application).where(
            Application.tenant_id == tenant_id, Application.connection_id == connection_id
        )
    )
    for application in candidates:
        other = reach.get(application.account_id)
        if other is not None:
            application.connection_id = other
            continue
        orphaned += orphan(session, application, reason="its connection was deleted", now=now)
    session.flush()
    return orphaned


# ------------------------------------------------------------------------------ one, now
@dataclass(frozen=True)
class _Reading:
    api: DiscoveredApi | None
    reads: tuple[StageDefinition, ...] = ()
    domains_known: bool = True


def sync(
    *, session: Session, application: Application, services: applications.Services, keep: int
) -> Synced:
    """`POST /applications/{id}/sync`: ask AWS now, then write what changed."""
    connection = applications.connection_of(
        session,
        application,
        detail="The connection that onboarded this application was deleted; it cannot be "
        "synced with AWS.",
        hint="A run of another connection that reaches its account restores it; or delete "
        "the application and onboard the API again through a connection.",
    )
    target = target_of(connection, services.box, services.context)
    stored = states_of(application)
    stages = instance_stages(application)
    with_domains = has_domain_instances(application)
    account_id, region, api_id = application.account_id, application.region, application.api_id
    protocol = application.protocol
    session.commit()  # no transaction is held while AWS answers

    def work(access: RegionAccess) -> _Reading:
        api = describe_api(
            call=access.call,
            client_for=access.client_for,
            account_id=access.account_id,
            region=region,
            api_id=api_id,
            protocol=protocol,
        )
        if api is None:
            return _Reading(api=None)
        problems: list[AwsFailure] = []
        if with_domains:
            add_domains(call=access.call, client_for=access.client_for, api=api, problems=problems)
        changed = changed_stages(api, stored, stages)
        reads = read_stages(access, api, changed, services.max_definition_bytes)
        return _Reading(api=api, reads=reads, domains_known=not problems)

    try:
        reading = services.engine.in_region(
            target.spec, target.context, account_id=account_id, region=region, work=work
        )
    except AccountNotReached:
        raise ValidationFailedError(
            "account_id",
            f"account {account_id} is not reached by the application's connection",
        ) from None
    except AwsError as exc:
        raise upstream(exc) from None
    synced = apply(
        session,
        application,
        reading.api,
        reading.reads,
        domains_known=reading.domains_known,
        keep=keep,
        now=utcnow(),
    )
    logger.info(
        "application synced",
        extra={
            "application_id": str(application.id),
            "status": application.status,
            "definitions_changed": synced.definitions_changed,
            "instances_retired": synced.instances_retired,
        },
    )
    return synced
