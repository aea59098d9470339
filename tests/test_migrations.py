"""The same migrations build, tear down and rebuild the schema on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import column, create_engine, insert, inspect, select, table

from app.core.migrations import current_revision, downgrade, head_revision, upgrade
from app.models import (
    Application,
    ApplicationChange,
    ApplicationDefinition,
    ApplicationInstance,
    Base,
    Connection,
    Tenant,
)


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_on_a_fresh_database(fresh_database_url: str) -> None:
    upgrade(fresh_database_url)
    assert _tables(fresh_database_url) == set(Base.metadata.tables)

    downgrade(fresh_database_url, "base")
    assert _tables(fresh_database_url) == set()

    upgrade(fresh_database_url)
    engine = create_engine(fresh_database_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_every_revision_steps_down_and_up_one_at_a_time(fresh_database_url: str) -> None:
    upgrade(fresh_database_url)
    engine = create_engine(fresh_database_url)
    try:
        while current_revision(engine) is not None:
            downgrade(fresh_database_url, "-1")
        upgrade(fresh_database_url)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_the_models_and_the_migrations_agree(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models changed without a migration: alembic revision --autogenerate"


def test_connections_keep_only_an_external_id_that_is_not_their_tenants(
    fresh_database_url: str,
) -> None:
    """0.6 stops accepting external ids from tenants; the connections that stored one keep it
    (flagged as an override) only where it differs from the tenant's own."""
    upgrade(fresh_database_url, "58dd61e24e3e")
    engine = create_engine(fresh_database_url)
    tenant_id, now = uuid.uuid4(), datetime.now(UTC)
    rows = {"own": "the-tenants-id", "chosen": "customer-chosen-id", "none": None}
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(Tenant).values(
                    id=tenant_id,
                    name="t",
                    external_id="the-tenants-id",
                    created_at=now,
                    updated_at=now,
                )
            )
            for name, external_id in rows.items():
                connection.execute(
                    insert(Connection).values(
                        id=uuid.uuid4(),
                        tenant_id=tenant_id,
                        name=name,
                        credential_type="assume_role",
                        external_id=external_id,
                        role_arn="arn:aws:iam::123456789012:role/R",
                        status="ok",
                        created_at=now,
                        updated_at=now,
                    )
                )
        upgrade(fresh_database_url)
        with engine.connect() as connection:
            kept = dict(connection.execute(select(Connection.name, Connection.external_id)).all())
    finally:
        engine.dispose()
    assert kept == {"own": None, "chosen": "customer-chosen-id", "none": None}


def _table(name: str, columns: str) -> Any:
    """The table as an older schema had it: only these columns, no model defaults."""
    from app.models import Base as Models

    model = Models.metadata.tables[name]
    return table(name, *(column(key, model.c[key].type) for key in columns.split()))


def test_an_applications_one_definition_becomes_its_first_stages_version_1(
    fresh_database_url: str,
) -> None:
    """0.6 keeps a definition per stage: the one an application had is its first instance's
    stage's version 1, validated, with each operation's exposure; private APIs' instances are
    reachable from their VPCs only."""
    from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, Text, Uuid

    upgrade(fresh_database_url, "4c1e0a5b7d21")
    engine = create_engine(fresh_database_url)
    old = Table(
        "application_definitions",
        MetaData(),
        Column("application_id", Uuid()),
        Column("format", String()),
        Column("source", String()),
        Column("stage", String()),
        Column("export_error", Text()),
        Column("document", Text()),
        Column("sha256", String()),
        Column("size_bytes", Integer()),
        Column("operations", Integer()),
        Column("unauthenticated_operations", Integer()),
        Column("api_key_operations", Integer()),
        Column("authorizer_types", JSON()),
        Column("operation_list", JSON()),
        Column("fetched_at", DateTime(timezone=True)),
    )
    tenant_id, app_id, now = uuid.uuid4(), uuid.uuid4(), datetime.now(UTC)
    document = '{"swagger":"2.0","info":{"title":"t","version":"1"},"paths":{"/a":{"GET":{}}}}'
    operations = [
        {
            "method": "GET",
            "path": "/a",
            "authorization": "NONE",
            "authorizer_type": None,
            "authorizer_name": None,
            "api_key_required": True,
            "unauthenticated": False,
        },
        {
            "method": "POST",
            "path": "/a",
            "authorization": "AWS_IAM",
            "authorizer_type": "AWS_IAM",
            "authorizer_name": None,
            "api_key_required": False,
            "unauthenticated": False,
        },
    ]
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(Tenant).values(
                    id=tenant_id, name="t", external_id="x", created_at=now, updated_at=now
                )
            )
            connection.execute(
                insert(
                    _table(
                        "applications",
                        "id tenant_id name account_id region api_id protocol endpoint_type "
                        "onboarded_via created_at updated_at",
                    )
                ).values(
                    id=app_id,
                    tenant_id=tenant_id,
                    name="orders",
                    account_id="123456789012",
                    region="eu-west-1",
                    api_id="abc123",
                    protocol="REST",
                    endpoint_type="PRIVATE",
                    onboarded_via="manual",
                    created_at=now,
                    updated_at=now,
                )
            )
            for offset, stage in enumerate(("prod", "dev")):
                connection.execute(
                    insert(
                        _table("application_instances", "id application_id url stage created_at")
                    ).values(
                        id=uuid.uuid4(),
                        application_id=app_id,
                        url=f"https://abc123.execute-api.eu-west-1.amazonaws.com/{stage}",
                        stage=stage,
                        created_at=now + timedelta(seconds=offset),
                    )
                )
            connection.execute(
                insert(old).values(
                    application_id=app_id,
                    format="swagger_2",
                    source="aws_export",
                    stage=None,
                    export_error=None,
                    document=document,
                    sha256="0" * 64,
                    size_bytes=len(document),
                    operations=2,
                    unauthenticated_operations=0,
                    api_key_operations=1,
                    authorizer_types={"AWS_IAM": 1},
                    operation_list=operations,
                    fetched_at=now,
                )
            )
        upgrade(fresh_database_url)
        with engine.connect() as connection:
            rows = connection.execute(select(ApplicationDefinition.__table__)).mappings().all()
            reachable = set(
                connection.execute(select(ApplicationInstance.reachable_from)).scalars()
            )
            lifecycle = connection.execute(
                select(Application.status, Application.last_synced_at)
            ).all()
            history = connection.execute(
                select(ApplicationChange.kind, ApplicationChange.occurred_at)
            ).all()
        assert "application_definitions" not in _tables(fresh_database_url)
    finally:
        engine.dispose()
    assert len(rows) == 1
    row = rows[0]
    assert (row["stage"], row["version"], row["current"]) == ("prod", 1, True)
    assert (row["source"], row["document_source"]) == ("draft_resources", "aws_export")
    # An API-key-only operation counts as unauthenticated from 0.6.
    assert row["unauthenticated_operations"] == 1
    assert row["exposure"] == {
        "public": 0,
        "api_key_only": 1,
        "authenticated": 1,
        "cors_preflight": 0,
    }
    assert [op["exposure"] for op in row["operation_list"]] == ["api_key_only", "authenticated"]
    assert row["valid"] is False
    assert row["validation_errors"]
    assert reachable == {"vpc_only"}
    # The lifecycle (0.7): active, never synced, onboarded when it was created.
    assert [tuple(row) for row in lifecycle] == [("active", None)]
    assert [(kind, at.replace(tzinfo=UTC)) for kind, at in history] == [("onboarded", now)]
