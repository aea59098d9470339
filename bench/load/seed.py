"""The load benchmark's data: written straight into the database with Core bulk inserts.

One tenant (created by `onboarder tenants create`, so its API key is a real one) gets a few
assume_role connections (no secret to encrypt) and `applications` applications spread over
them, 50 accounts and 8 regions, each with `instances` instance URLs (its stages) and a small
OpenAPI definition, as onboarding would have stored them. created_at grows by a millisecond
per application, the order the list pages through.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection as DbConnection
from sqlalchemy import MetaData, Table, create_engine, insert, inspect, text
from sqlalchemy.engine import make_url

from app.core.db import normalize_database_url
from app.models import Application, ApplicationDefinition, ApplicationInstance, Connection
from app.models.base import utcnow

ACCOUNTS = 50
REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "sa-east-1",
)
PROTOCOLS = ("REST", "REST", "HTTP", "WEBSOCKET")
ENDPOINT_TYPES = ("REGIONAL", "EDGE", "PRIVATE")
CHUNK = 5000


@dataclass(frozen=True)
class Seeded:
    connection_ids: list[uuid.UUID]
    application_ids: list[uuid.UUID]
    instances: int
    seconds: float


def _table(connection: DbConnection, model: Any) -> Table:
    """The model's table as the database has it: the service may be another checkout
    (--service-root) whose migrations lack a column this checkout's model has."""
    table: Table = model.__table__
    existing = {column["name"] for column in inspect(connection).get_columns(table.name)}
    if existing >= set(table.columns.keys()):
        return table
    kept = [column._copy() for column in table.columns if column.name in existing]
    return Table(table.name, MetaData(), *kept)


def _account(index: int) -> str:
    return f"{100000000000 + index * 7919:012d}"


def _operations(index: int) -> list[dict[str, Any]]:
    count = 2 + index % 7
    operations = []
    for number in range(count):
        authorization = ("NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS")[(index + number) % 4]
        authorizer_type = {
            "NONE": None,
            "AWS_IAM": "AWS_IAM",
            "CUSTOM": "TOKEN",
            "COGNITO_USER_POOLS": "COGNITO_USER_POOLS",
        }[authorization]
        api_key_required = number % 5 == 4
        path = f"/resource{number // 4}" + ("/{id}" if number % 2 else "")
        operations.append(
            {
                "method": ("GET", "POST", "PUT", "DELETE")[number % 4],
                "path": path,
                "authorization": authorization,
                "authorizer_type": authorizer_type,
                "authorizer_name": None if authorizer_type in {None, "AWS_IAM"} else "auth",
                "api_key_required": api_key_required,
                "unauthenticated": authorization == "NONE" and not api_key_required,
            }
        )
    return operations


def _document(name: str, operations: list[dict[str, Any]]) -> str:
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(operation["path"], {})[operation["method"].lower()] = {
            "operationId": f"{operation['method'].lower()}{len(paths)}",
            "responses": {"200": {"description": "OK"}},
        }
    document = {"openapi": "3.0.1", "info": {"title": name, "version": "1"}, "paths": paths}
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _insert(connection: DbConnection, model: Any, rows: list[dict[str, Any]]) -> None:
    table = _table(connection, model)
    names = set(table.columns.keys())
    rows = [{k: v for k, v in row.items() if k in names} for row in rows]
    for chunk in _chunks(rows):
        connection.execute(insert(table), chunk)


def seed(
    database_url: str,
    *,
    tenant_id: uuid.UUID,
    connections: int,
    applications: int,
    instances: int,
) -> Seeded:
    started = time.perf_counter()
    url = normalize_database_url(database_url)
    engine = create_engine(url)
    now = utcnow()
    epoch = now - timedelta(days=30)
    connection_ids = [uuid.uuid4() for _ in range(connections)]
    application_ids = [uuid.uuid4() for _ in range(applications)]
    try:
        with engine.begin() as db:
            _insert(
                db,
                Connection,
                [
                    {
                        "id": connection_id,
                        "tenant_id": tenant_id,
                        "name": f"load-{number}",
                        "credential_type": "assume_role",
                        "role_arn": f"arn:aws:iam::{_account(number)}:role/APIGatewayAccessRole",
                        "status": "ok",
                        "account_id": _account(number),
                        "last_tested_at": epoch,
                        "created_at": epoch + timedelta(seconds=number),
                        "updated_at": epoch + timedelta(seconds=number),
                    }
                    for number, connection_id in enumerate(connection_ids)
                ],
            )
            apps, stages, definitions = [], [], []
            for index, application_id in enumerate(application_ids):
                created_at: datetime = epoch + timedelta(hours=1, milliseconds=index)
                region = REGIONS[index % len(REGIONS)]
                api_id = f"{index:010x}"
                name = f"api-{index}"
                apps.append(
                    {
                        "id": application_id,
                        "tenant_id": tenant_id,
                        "name": name,
                        "connection_id": connection_ids[index % connections],
                        "account_id": _account(index % ACCOUNTS),
                        "region": region,
                        "api_id": api_id,
                        "protocol": PROTOCOLS[index % len(PROTOCOLS)],
                        "endpoint_type": ENDPOINT_TYPES[index % len(ENDPOINT_TYPES)],
                        "onboarded_via": "auto_onboard" if index % 3 else "manual",
                        "created_at": created_at,
                        "updated_at": created_at,
                    }
                )
                for number in range(instances):
                    stage = f"stage{number}"
                    stages.append(
                        {
                            "id": uuid.uuid4(),
                            "application_id": application_id,
                            "url": f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}",
                            "stage": stage,
                            "created_at": created_at,
                        }
                    )
                operations = _operations(index)
                document = _document(name, operations)
                encoded = document.encode()
                authorizers: dict[str, int] = {}
                for operation in operations:
                    if operation["authorizer_type"]:
                        kind = operation["authorizer_type"]
                        authorizers[kind] = authorizers.get(kind, 0) + 1
                definitions.append(
                    {
                        "application_id": application_id,
                        "format": "openapi_3",
                        "source": "aws_export",
                        "stage": "stage0" if instances else None,
                        "export_error": None,
                        "document": document,
                        "sha256": hashlib.sha256(encoded).hexdigest(),
                        "size_bytes": len(encoded),
                        "operations": len(operations),
                        "unauthenticated_operations": sum(o["unauthenticated"] for o in operations),
                        "api_key_operations": sum(o["api_key_required"] for o in operations),
                        "authorizer_types": dict(sorted(authorizers.items())),
                        "operation_list": operations,
                        "fetched_at": created_at,
                    }
                )
            _insert(db, Application, apps)
            _insert(db, ApplicationInstance, stages)
            _insert(db, ApplicationDefinition, definitions)
        if make_url(url).get_backend_name() == "postgresql":
            # What autovacuum does shortly after any bulk load; without it the planner's
            # guesses (and so the figures) depend on whether it has run yet.
            with engine.connect() as db:
                db.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return Seeded(
        connection_ids=connection_ids,
        application_ids=application_ids,
        instances=applications * instances,
        seconds=time.perf_counter() - started,
    )
