"""The event feed as a consumer follows it: every change has its event and every event its
change, oldest first, with a cursor that never skips one."""

from __future__ import annotations

import os
import uuid
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.db import Database
from app.events import service as events
from app.integrations.aws.demo_organization import SeededOrganization
from app.models import ApplicationChange, Event
from app.schedules.runs import RunServices
from tests.applications.conftest import (  # noqa: F401 - fixtures
    onboard,
    onboarded,
    shop_prod,
    storefront_prod,
)
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import (  # noqa: F401 - fixtures
    IamUser,
    aws,
    enforcing_iam,
    platform_user,
    trust_policy,
)
from tests.connections.test_connection_checks import _access_role, _role_body
from tests.discovery.conftest import org  # noqa: F401 - fixtures
from tests.schedules.conftest import (  # noqa: F401 - fixture
    DAILY_US,
    run_services,
    saved_schedule,
)
from tests.schedules.test_runs import run_once

EVENTS = "/api/v1/events"


def feed(client: TestClient, tenant: TenantWithKey, **params: Any) -> dict[str, Any]:
    response = client.get(EVENTS, params=params, headers=tenant.headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def follow(client: TestClient, tenant: TenantWithKey, cursor: str | None, **params: Any) -> Any:
    """Everything after `cursor`, page by page; returns (events, the cursor to keep)."""
    seen: list[dict[str, Any]] = []
    while True:
        page = feed(client, tenant, **({"cursor": cursor} if cursor else {}), **params)
        assert page["next_cursor"], "a follower always gets a cursor back"
        seen += page["items"]
        if cursor == page["next_cursor"] or not page["items"]:
            return seen, page["next_cursor"]
        cursor = page["next_cursor"]


def test_an_onboarding_is_one_event_carrying_the_application_and_its_change(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    shop_prod: str,  # noqa: F811
    database: Database,
) -> None:
    application = onboarded(client, tenant, **storefront_prod(org, shop_prod))

    [event] = feed(client, tenant)["items"]

    assert event["type"] == "application.onboarded"
    data = event["data"]
    assert data["application_id"] == application["id"]
    assert data["application"] == application  # as the onboarding answered it
    with database.session() as session:
        [change] = session.scalars(select(ApplicationChange)).all()
    assert data["change"]["id"] == str(change.id)
    assert data["change"]["kind"] == "onboarded"
    assert data["summary"] == change.summary


def test_a_refused_onboarding_writes_neither_a_change_nor_an_event(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    shop_prod: str,  # noqa: F811
    database: Database,
) -> None:
    onboarded(client, tenant, **storefront_prod(org, shop_prod))
    again = onboard(client, tenant, **storefront_prod(org, shop_prod))  # its savepoint rolls back
    assert again.status_code == 409

    assert [e["type"] for e in feed(client, tenant)["items"]] == ["application.onboarded"]
    with database.session() as session:
        assert len(session.scalars(select(ApplicationChange)).all()) == 1
        assert len(session.scalars(select(Event)).all()) == 1


def test_an_event_rolled_back_with_its_transaction_is_gone(
    database: Database, tenant: TenantWithKey
) -> None:
    def failing_change() -> None:
        with database.session() as session:
            events.emit(session, tenant_id=tenant.tenant.id, type=events.WEBHOOK_TEST, data={})
            session.flush()
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        failing_change()
    with database.session() as session:
        events.emit(session, tenant_id=tenant.tenant.id, type=events.WEBHOOK_TEST, data={"n": 1})
    with database.session() as session:
        [event] = session.scalars(select(Event)).all()
    assert event.data == {"n": 1}
    assert event.seq is not None


def test_a_follower_pages_oldest_first_and_later_gets_only_what_is_new(
    client: TestClient, tenant: TenantWithKey, database: Database
) -> None:
    def emit(count: int) -> None:
        for n in range(count):
            with database.session() as session:
                events.emit(
                    session, tenant_id=tenant.tenant.id, type=events.WEBHOOK_TEST, data={"n": n}
                )

    emit(5)
    first = feed(client, tenant, limit=2)
    assert [e["data"]["n"] for e in first["items"]] == [0, 1]
    rest, cursor = follow(client, tenant, first["next_cursor"], limit=2)
    assert [e["data"]["n"] for e in rest] == [2, 3, 4]
    # Nothing new: an empty page, and the same place to ask from.
    empty = feed(client, tenant, cursor=cursor)
    assert (empty["items"], empty["next_cursor"]) == ([], cursor)

    emit(3)
    new, _ = follow(client, tenant, cursor, limit=2)
    assert [e["data"]["n"] for e in new] == [0, 1, 2]

    # A console starts at the end: the last events, and a cursor to follow from there.
    lately = feed(client, tenant, cursor="latest", limit=2)
    assert [e["data"]["n"] for e in lately["items"]] == [1, 2]
    emit(1)
    after, _ = follow(client, tenant, lately["next_cursor"])
    assert [e["data"]["n"] for e in after] == [0]


def test_filters_by_type_and_application_move_the_cursor_past_what_they_skip(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    shop_prod: str,  # noqa: F811
    database: Database,
) -> None:
    application = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    with database.session() as session:
        for _ in range(3):
            events.emit(session, tenant_id=tenant.tenant.id, type=events.WEBHOOK_TEST, data={})

    onboardings = feed(client, tenant, type="application.onboarded")
    assert [e["data"]["application_id"] for e in onboardings["items"]] == [application["id"]]
    mine = feed(client, tenant, application_id=application["id"])
    assert [e["type"] for e in mine["items"]] == ["application.onboarded"]
    # The cursor is past the skipped test events too: asking again finds nothing.
    again = feed(client, tenant, type="application.onboarded", cursor=onboardings["next_cursor"])
    assert again["items"] == []
    both = feed(client, tenant, type=["application.onboarded", "webhook.test"])
    assert len(both["items"]) == 4


def test_a_tenant_sees_only_its_own_events(
    client: TestClient,
    tenant: TenantWithKey,
    make_tenant: Any,
    org: SeededOrganization,  # noqa: F811
    shop_prod: str,  # noqa: F811
) -> None:
    application = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    other = make_tenant()

    assert feed(client, other)["items"] == []
    assert feed(client, other, application_id=application["id"])["items"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "application.deleted"}, "type"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ({"application_id": "not-an-id"}, "application_id"),
        ({"limit": 0}, "limit"),
    ],
)
def test_a_malformed_query_is_a_422_naming_the_field(
    client: TestClient, tenant: TenantWithKey, params: dict[str, Any], field: str
) -> None:
    response = client.get(EVENTS, params=params, headers=tenant.headers)
    assert response.status_code == 422, response.text
    fields = {error["field"].split(".")[0] for error in response.json()["errors"]}
    assert field in fields


def test_a_failed_connection_test_is_a_connection_failed_event_with_its_hint(
    client: TestClient,
    tenant: TenantWithKey,
    platform_user: IamUser,  # noqa: F811
) -> None:
    role_arn = _access_role(platform_user, tenant.tenant.external_id)
    created = client.post(
        "/api/v1/connections", json={"name": "prod", **_role_body(role_arn)}, headers=tenant.headers
    ).json()
    url = f"/api/v1/connections/{created['id']}/test"
    assert client.post(url, headers=tenant.headers).json()["ok"] is True
    assert feed(client, tenant)["items"] == [], "a test that passes is no event"
    boto3.client("iam").update_assume_role_policy(
        RoleName="APIGatewayAccessRole",
        PolicyDocument=trust_policy(platform_user.arn, "rotated"),
    )

    enforcing_iam(lambda: client.post(url, headers=tenant.headers))

    [event] = feed(client, tenant)["items"]
    assert event["type"] == "connection.failed"
    data = event["data"]
    assert (data["connection_id"], data["code"]) == (created["id"], "role_not_assumable")
    assert data["hint"]
    assert "prod" in data["summary"]


def test_a_run_that_ends_is_a_run_finished_event_beside_its_onboardings(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    shop_prod: str,  # noqa: F811
    database: Database,
    run_services: RunServices,  # noqa: F811
) -> None:
    saved_schedule(client, tenant, shop_prod, **{**DAILY_US, "regions": list(org.regions)})
    run = run_once(client, tenant, shop_prod, database, run_services)

    page = feed(client, tenant, limit=500)["items"]
    types = [event["type"] for event in page]
    assert types.count("application.onboarded") == run["onboarded"] > 0
    assert types[-1] == "run.finished", "the run ends after what it onboarded"
    finished = page[-1]["data"]
    assert (finished["run_id"], finished["status"]) == (run["id"], run["status"])
    assert finished["counters"]["onboarded"] == run["onboarded"]
    assert sorted(finished["application_ids"]) == sorted(run["application_ids"])


@pytest.mark.skipif(
    not (os.environ.get("ONBOARDER_TEST_DATABASE_URL") or "").startswith("postgres"),
    reason="SQLite has one writer at a time: a transaction's events cannot commit around "
    "another's there",
)
def test_events_are_numbered_in_commit_order_so_a_follower_never_skips_one(
    client: TestClient, tenant: TenantWithKey, database: Database
) -> None:
    # Transaction A writes its event first but commits last; B commits in between, and a
    # follower reads then. A's event must still come after the follower's cursor.
    with database.session() as a:
        events.emit(a, tenant_id=tenant.tenant.id, type=events.WEBHOOK_TEST, data={"tx": "a"})
        a.flush()
        with database.session() as b:
            events.emit(b, tenant_id=tenant.tenant.id, type=events.WEBHOOK_TEST, data={"tx": "b"})
        seen, cursor = follow(client, tenant, None)
        assert [e["data"]["tx"] for e in seen] == ["b"]
    later, _ = follow(client, tenant, cursor)
    assert [e["data"]["tx"] for e in later] == ["a"]


def test_event_ids_are_unique_uuids(
    client: TestClient, tenant: TenantWithKey, database: Database
) -> None:
    with database.session() as session:
        for _ in range(3):
            events.emit(session, tenant_id=tenant.tenant.id, type=events.WEBHOOK_TEST, data={})
    ids = [item["id"] for item in feed(client, tenant)["items"]]
    assert len({uuid.UUID(i) for i in ids}) == 3
