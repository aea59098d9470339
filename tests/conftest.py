"""Shared fixtures.

The schema is built once per run by the real migrations; every test then starts from empty
tables. ONBOARDER_TEST_DATABASE_URL picks the database (PostgreSQL in CI); SQLite otherwise.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.handlers
import pytest
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from app.core.config import LogFormat, Mode, Settings
from app.core.context import get_request_context
from app.core.db import Database, normalize_database_url
from app.core.logging import JsonFormatter, TextFormatter
from app.core.migrations import upgrade
from app.integrations.aws.platform import platform_principal
from app.main import create_app
from app.models import Base, Tenant
from app.tenants import service as tenant_service

# AWS SDK calls must never leave the machine from tests, whatever the developer's shell holds.
for _variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_variable, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"


# ------------------------------------------------------ no database transaction across AWS calls
TRANSACTIONS_ACROSS_AWS: list[str] = []


def _no_transaction_open(model: Any = None, **_: Any) -> None:
    """Every AWS call of every botocore client (moto's and the Stubber's included) passes here
    first: a request whose database transaction is still open at that moment would hold its
    connection and row locks for as long as AWS takes to answer."""
    context = get_request_context()
    session = context.db_session if context is not None else None
    if context is not None and session is not None and session.in_transaction():
        operation = f"{model.service_model.service_name}:{model.name}" if model else "AWS"
        TRANSACTIONS_ACROSS_AWS.append(f"{operation} in request {context.request_id}")


botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", _no_transaction_open))


# ---------------------------------------------- AWS answers where moto lacks them (as a Stubber)
# (service name, operation) -> a function of the request's parameters giving AWS's answer, or
# None to let moto answer. Filled by the `aws_answers` fixture.
AWS_ANSWERS: dict[tuple[str, str], Callable[[dict[str, Any]], dict[str, Any] | None]] = {}


def _keep_parameters(params: Any = None, context: Any = None, **_: Any) -> None:
    if context is not None and params is not None:
        context["onboarder_test_parameters"] = dict(params)


def _answer_where_moto_lacks(model: Any = None, context: Any = None, **_: Any) -> Any:
    """Like botocore's Stubber, but for one operation of every client while moto answers the
    rest: the answer is validated against the operation's output shape in the service model,
    so it is shaped exactly as AWS's would be."""
    if model is None or not AWS_ANSWERS:
        return None
    answer_for = AWS_ANSWERS.get((model.service_model.service_name, model.name))
    if answer_for is None:
        return None
    answer = answer_for(dict((context or {}).get("onboarder_test_parameters") or {}))
    if answer is None:
        return None
    if model.output_shape is not None:
        validate_parameters(answer, model.output_shape)
    return AWSResponse(None, 200, {}, None), answer


botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", _keep_parameters))
botocore.handlers.BUILTIN_HANDLERS.append(("before-call", _answer_where_moto_lacks))


# ----------------------------------------------------------- which AWS calls a test's code made
@dataclass(frozen=True)
class AwsCall:
    service: str
    operation: str
    region: str | None
    params: dict[str, Any]


AWS_CALLS: list[AwsCall] | None = None  # None: not recording


def _record_call(model: Any = None, params: Any = None, context: Any = None, **_: Any) -> None:
    if AWS_CALLS is not None and model is not None:
        AWS_CALLS.append(
            AwsCall(
                service=model.service_model.service_name,
                operation=model.name,
                region=(context or {}).get("client_region"),
                params=dict(params or {}),
            )
        )


botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build", _record_call))


@pytest.fixture
def aws_calls() -> Iterator[list[AwsCall]]:
    """Every AWS call made from here on (moto's own and the test's too: filter by what)."""
    global AWS_CALLS
    AWS_CALLS = []
    yield AWS_CALLS
    AWS_CALLS = None


@pytest.fixture
def aws_answers() -> Iterator[dict[tuple[str, str], Callable[[dict[str, Any]], Any]]]:
    """Answer chosen operations as AWS would where moto cannot (and say so in the test)."""
    AWS_ANSWERS.clear()
    yield AWS_ANSWERS
    AWS_ANSWERS.clear()


@pytest.fixture(autouse=True)
def _no_transaction_held_across_aws() -> Iterator[None]:
    TRANSACTIONS_ACROSS_AWS.clear()
    yield
    held = list(TRANSACTIONS_ACROSS_AWS)
    TRANSACTIONS_ACROSS_AWS.clear()
    assert not held, f"a request kept its database transaction open across AWS calls: {held}"


# ---------------------------------------------------------------- log capture for the audit test
class CapturingHandler(logging.Handler):
    """Keeps every record of the run, raw and as both formatters would print it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self._text = TextFormatter()
        self._json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        raw = " ".join([record.getMessage(), *(str(value) for value in record.__dict__.values())])
        self.lines.append(raw)
        self.lines.append(self._text.format(record))
        self.lines.append(self._json.format(record))


LOG_CAPTURE = CapturingHandler()
ISSUED_API_KEYS: list[str] = []
ISSUED_WEBHOOK_SECRETS: list[str] = []
ISSUED_INGEST_TOKENS: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.addHandler(LOG_CAPTURE)
    root.setLevel(logging.INFO)


COLLECTED_OTHER_TESTS: list[str] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The audit reads what every other test logged, so it runs last.
    items.sort(key=lambda item: bool(item.get_closest_marker("audit")))
    COLLECTED_OTHER_TESTS[:] = [i.nodeid for i in items if not i.get_closest_marker("audit")]


@pytest.fixture(autouse=True, scope="session")
def _record_issued_api_keys() -> Iterator[None]:
    from app.core.security import generate_api_key as original

    def recording() -> object:
        new_key = original()
        ISSUED_API_KEYS.append(new_key.plaintext)
        return new_key

    from app.webhooks.service import new_secret

    def recording_secret() -> str:
        secret = new_secret()
        ISSUED_WEBHOOK_SECRETS.append(secret)
        return secret

    from app.ingest.service import new_token

    def recording_token() -> str:
        token = new_token()
        ISSUED_INGEST_TOKENS.append(token)
        return token

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("app.tenants.service.generate_api_key", recording)
        patch.setattr("app.ingest.service.new_token", recording_token)
        patch.setattr("app.webhooks.service.new_secret", recording_secret)
        yield


# ---------------------------------------------------------------------------------- databases
def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def create_fresh_database(tmp_path: Path, base_url: str | None) -> tuple[str, Callable[[], None]]:
    """A new, empty database of the kind under test, and a function that removes it."""
    if base_url is None or base_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'fresh-{uuid.uuid4().hex[:8]}.db'}", lambda: None
    name = f"onboarder_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_admin_url(base_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(base_url).set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    configured = os.environ.get("ONBOARDER_TEST_DATABASE_URL")
    url = normalize_database_url(configured) if configured else None
    if url is None:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'onboarder-test.db'}"
    upgrade(url)
    return url


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    url, drop = create_fresh_database(tmp_path, os.environ.get("ONBOARDER_TEST_DATABASE_URL"))
    try:
        yield normalize_database_url(url)
    finally:
        drop()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        mode=Mode.EMBEDDED,
        data_dir=tmp_path / "data",
        database_url=database_url,
        encryption_keys=[Fernet.generate_key().decode()],
        log_format=LogFormat.TEXT,
        auto_migrate=False,
    )


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    db = Database(settings.database_url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def _cleanup_engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def _empty_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    uses_database = "database_url" in request.fixturenames
    engine: Engine | None = request.getfixturevalue("_cleanup_engine") if uses_database else None
    yield
    if engine is None:
        return
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


@pytest.fixture(autouse=True)
def _forget_platform_identity() -> None:
    # The service looks its own AWS identity up once per process; tests change it at will.
    platform_principal.forget()


# ------------------------------------------------------------------------------------- the app
@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings, configure_logs=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class TenantWithKey:
    tenant: Tenant
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


@pytest.fixture
def make_tenant(database: Database) -> Callable[..., TenantWithKey]:
    counter = iter(range(1_000_000))

    def factory(name: str | None = None) -> TenantWithKey:
        with database.session() as session:
            tenant, issued = tenant_service.create_tenant(
                session=session, name=name or f"tenant-{next(counter)}-{uuid.uuid4().hex[:6]}"
            )
        return TenantWithKey(tenant=tenant, api_key=issued.plaintext)

    return factory


@pytest.fixture
def tenant(make_tenant: Callable[..., TenantWithKey]) -> TenantWithKey:
    return make_tenant()
