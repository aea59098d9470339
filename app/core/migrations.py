"""Alembic, driven from code: `onboarder migrate`, the embedded self-upgrade, /readyz, tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

import migrations
from app.core.db import normalize_database_url

_SCRIPT_LOCATION = Path(migrations.__file__).parent


def alembic_config(database_url: str) -> Config:
    # Built in code rather than read from alembic.ini so an installed wheel, where the ini file
    # does not exist, migrates the same way as a checkout.
    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    config.set_main_option(
        "sqlalchemy.url", normalize_database_url(database_url).replace("%", "%%")
    )
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    return ScriptDirectory(str(_SCRIPT_LOCATION)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    # Read directly: MigrationContext would log a line on every readiness probe.
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return str(revision) if revision is not None else None
