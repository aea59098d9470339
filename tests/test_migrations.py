"""The same migrations build, tear down and rebuild the schema on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from app.core.migrations import current_revision, downgrade, head_revision, upgrade
from app.models import Base


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
