"""The same migrations build, tear down and rebuild the schema on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert, inspect, select

from app.core.migrations import current_revision, downgrade, head_revision, upgrade
from app.models import Base, Connection, Tenant


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
