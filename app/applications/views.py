"""An application as the API shows it (routes, and events that carry it)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.applications.schemas import (
    ApplicationRead,
    ApplicationSourceRead,
    CanaryRead,
    DefinitionRead,
    ExposureCounts,
    InstanceRead,
    ProtectionsRead,
)
from app.models import Application


def first_stage(instances: Iterable[Any]) -> str | None:
    """The stage of the first instance: its definition is the application's `definition`."""
    return next((instance.stage for instance in instances), None)


def primary(definitions: list[Any], instances: Iterable[Any]) -> Any:
    """The current definition of the first instance's stage (else the first there is)."""
    stage = first_stage(instances)
    return next(
        (d for d in definitions if d.stage == stage), definitions[0] if definitions else None
    )


def to_read(application: Application) -> ApplicationRead:
    return read(application, application.instances, application.current_definitions)


def _definition(definition: Any) -> DefinitionRead:
    return DefinitionRead(
        stage=definition.stage,
        deployment_id=definition.deployment_id,
        version=definition.version,
        format=definition.format,
        source=definition.source,
        document_source=definition.document_source,
        export_error=definition.export_error,
        valid=definition.valid,
        validation_errors=definition.validation_errors,
        operations=definition.operations,
        unauthenticated_operations=definition.unauthenticated_operations,
        api_key_operations=definition.api_key_operations,
        cors_preflight_operations=definition.cors_preflight_operations,
        exposure=ExposureCounts(**definition.exposure),
        authorizer_types=definition.authorizer_types,
        canary=CanaryRead(**definition.canary) if definition.canary else None,
        sha256=definition.sha256,
        size_bytes=definition.size_bytes,
        fetched_at=definition.fetched_at,
    )


def read(
    application: Application, instances: Iterable[Any], definitions: list[Any]
) -> ApplicationRead:
    """`instances` and `definitions` (the current one of each stage) are ORM rows, or a
    list's plain rows with the same column names."""
    instances = list(instances)
    first = primary(definitions, instances)
    return ApplicationRead(
        id=application.id,
        name=application.name,
        source=ApplicationSourceRead(
            connection_id=application.connection_id,
            account_id=application.account_id,
            region=application.region,
            api_id=application.api_id,
            protocol=application.protocol,
            endpoint_type=application.endpoint_type,
        ),
        instances=[
            InstanceRead(
                url=i.url,
                stage=i.stage,
                created_at=i.created_at,
                reachable_from=i.reachable_from,
                mutual_tls=i.mutual_tls,
                required_headers=i.required_headers or {},
                status=i.status,
                retired_at=i.retired_at,
            )
            for i in instances
        ],
        onboarded_via=application.onboarded_via,
        definition=None if first is None else _definition(first),
        definitions=[_definition(definition) for definition in definitions],
        protections=[ProtectionsRead(**entry) for entry in application.protections or []],
        status=application.status,
        retired_at=application.retired_at,
        orphaned_at=application.orphaned_at,
        last_synced_at=application.last_synced_at,
        created_at=application.created_at,
        updated_at=application.updated_at,
    )
