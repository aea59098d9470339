"""Webhooks as a receiver sees them: signed per Standard Webhooks (verified here with the
`standardwebhooks` library), retried with back-off, at least once, never lost."""

from __future__ import annotations

import itertools
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.db import Database
from app.events import service as events
from app.integrations.aws.demo_organization import SeededOrganization
from app.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.delivery import DISABLE_AFTER, MAX_ATTEMPTS, RETRY_DELAYS
from tests.applications.conftest import onboarded, shop_prod, storefront_prod  # noqa: F401
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import aws, platform_user  # noqa: F401 - fixtures
from tests.discovery.conftest import org  # noqa: F401 - fixtures
from tests.lifecycle.test_sync import redeploy_with_an_open_method, sync
from tests.webhooks.conftest import (
    Clock,
    DelivererFactory,
    Receiver,
    add_webhook,
    deliver_all,
)

WEBHOOKS = "/api/v1/webhooks"


def deliveries(client: TestClient, tenant: TenantWithKey, webhook_id: str) -> list[Any]:
    response = client.get(f"{WEBHOOKS}/{webhook_id}/deliveries", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def test_a_receiver_verifies_the_onboarding_and_the_exposure_increase_a_sync_finds(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    shop_prod: str,  # noqa: F811
    receiver: Receiver,
    make_deliverer: DelivererFactory,
) -> None:
    add_webhook(client, tenant, receiver)
    application = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    redeploy_with_an_open_method(org, org.api_named("shop-storefront-api"), "debug")
    sync(client, tenant, application["id"])

    deliver_all(make_deliverer())

    assert receiver.received, "nothing was delivered"
    assert all(item.verified for item in receiver.received), "a signature did not verify"
    [onboarded_event] = receiver.of_type("application.onboarded")
    assert onboarded_event.body["data"]["application_id"] == application["id"]
    assert onboarded_event.body["data"]["application"]["id"] == application["id"]
    [opened] = receiver.of_type("application.exposure_increased")
    change = opened.body["data"]["change"]
    assert change["details"]["operations"] == [
        {"method": "GET", "path": "/debug", "before": None, "after": "public"}
    ]
    # The application as the sync left it: its new definition version.
    [definition] = opened.body["data"]["application"]["definitions"]
    assert definition["version"] == 2
    # The definition change itself is an application.changed of its own.
    assert [r.body["data"]["change"]["kind"] for r in receiver.of_type("application.changed")] == [
        "definition_changed"
    ]
    # The webhook-id is the event's id, as in the feed.
    feed = client.get("/api/v1/events", headers=tenant.headers).json()["items"]
    assert {item["id"] for item in feed} == {r.webhook_id for r in receiver.received}


def test_500_twice_then_200_is_three_attempts_with_one_webhook_id_and_ends_delivered(
    client: TestClient,
    tenant: TenantWithKey,
    receiver: Receiver,
    make_deliverer: DelivererFactory,
) -> None:
    receiver.answers = [500, 500, 200]
    webhook = add_webhook(client, tenant, receiver)
    sent = client.post(f"{WEBHOOKS}/{webhook['id']}/test", headers=tenant.headers)
    assert sent.status_code == 202, sent.text
    clock = Clock(datetime.now(UTC))
    deliverer = make_deliverer(clock=clock)

    for _ in range(3):
        deliver_all(deliverer)
        clock.now += timedelta(minutes=10)  # past the first two waits (5 s, then 5 min)

    assert [r.webhook_id for r in receiver.received] == [sent.json()["event_id"]] * 3
    assert all(r.verified for r in receiver.received)
    [delivery] = deliveries(client, tenant, webhook["id"])
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 3
    assert delivery["last_status_code"] == 200
    assert delivery["delivered_at"] is not None


def test_a_receiver_that_never_answers_is_retried_on_schedule_then_failed(
    client: TestClient,
    tenant: TenantWithKey,
    receiver: Receiver,
    make_deliverer: DelivererFactory,
) -> None:
    receiver.answers = [0]  # never answers within the timeout
    receiver.hang_seconds = 0.5
    webhook = add_webhook(client, tenant, receiver)
    client.post(f"{WEBHOOKS}/{webhook['id']}/test", headers=tenant.headers)
    start = datetime.now(UTC)
    clock = Clock(start)
    deliverer = make_deliverer(clock=clock, timeout_seconds=0.1)
    attempted_at = []

    for _ in range(MAX_ATTEMPTS + 2):
        before = len(receiver.received)
        deliver_all(deliverer)
        if len(receiver.received) > before:
            attempted_at.append(clock.now)
        [delivery] = deliveries(client, tenant, webhook["id"])
        if delivery["status"] != "pending":
            break
        due = datetime.fromisoformat(delivery["next_attempt_at"])
        # Not a moment before it is due.
        clock.now = due - timedelta(seconds=1)
        assert deliverer.poll() == 0
        clock.now = due

    [delivery] = deliveries(client, tenant, webhook["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == MAX_ATTEMPTS == len(attempted_at)
    assert "timed out" in delivery["last_error"]
    assert delivery["next_attempt_at"] is None
    waits = [b - a for a, b in itertools.pairwise(attempted_at)]
    for wait, planned in zip(waits, RETRY_DELAYS, strict=True):
        assert planned * 0.9 <= wait <= planned * 1.1
    assert attempted_at[-1] - attempted_at[0] >= timedelta(hours=24)


def test_two_scheduler_processes_attempt_each_delivery_once(
    client: TestClient,
    tenant: TenantWithKey,
    receiver: Receiver,
    make_deliverer: DelivererFactory,
) -> None:
    webhook = add_webhook(client, tenant, receiver)
    sent = [
        client.post(f"{WEBHOOKS}/{webhook['id']}/test", headers=tenant.headers).json()["event_id"]
        for _ in range(30)
    ]
    workers = [make_deliverer(worker=f"process-{n}", per_endpoint=8) for n in range(2)]
    for worker in workers:  # each claims and attempts in its own loop, as in two processes
        worker.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        statuses = [d["status"] for d in deliveries(client, tenant, webhook["id"])]
        if statuses.count("delivered") == len(sent):
            break
        time.sleep(0.05)
    for worker in workers:
        worker.stop()

    assert sorted(r.webhook_id for r in receiver.received) == sorted(sent)
    assert {d["status"] for d in deliveries(client, tenant, webhook["id"])} == {"delivered"}


def test_a_slow_receiver_holds_a_few_threads_and_never_delays_another(
    client: TestClient,
    tenant: TenantWithKey,
    receiver: Receiver,
    make_receiver: Any,
    make_deliverer: DelivererFactory,
    make_tenant: Any,
) -> None:
    receiver.answers = [0]  # answers after 1 s
    receiver.hang_seconds = 1.0
    slow = add_webhook(client, tenant, receiver)
    for _ in range(12):
        client.post(f"{WEBHOOKS}/{slow['id']}/test", headers=tenant.headers)
    deliverer = make_deliverer(threads=6, per_endpoint=2, timeout_seconds=5.0)
    assert deliverer.poll() == 2  # two threads for the slow receiver, whatever it has waiting
    other = make_tenant()
    fast = make_receiver()
    fast_webhook = add_webhook(client, other, fast)
    client.post(f"{WEBHOOKS}/{fast_webhook['id']}/test", headers=other.headers)

    assert deliverer.poll() == 1  # room for the other receiver, not for more slow ones
    deadline = time.monotonic() + 0.8
    while not fast.received and time.monotonic() < deadline:
        time.sleep(0.01)

    assert len(fast.received) == 1, "the fast receiver waited on the slow one"
    assert receiver.received
    assert deliverer.in_flight() >= 2, "the slow receiver's attempts are still under way"
    deliverer.drain()


def test_an_endpoint_failing_everything_for_five_days_is_disabled_with_an_event(
    client: TestClient,
    tenant: TenantWithKey,
    receiver: Receiver,
    make_deliverer: DelivererFactory,
    database: Database,
) -> None:
    receiver.answers = [503]
    webhook = add_webhook(client, tenant, receiver)
    client.post(f"{WEBHOOKS}/{webhook['id']}/test", headers=tenant.headers)
    start = datetime.now(UTC)
    clock = Clock(start)
    deliverer = make_deliverer(clock=clock)
    deliver_all(deliverer)
    assert len(receiver.received) == 1
    # Five days on, every attempt still failing: the next failure disables it.
    clock.now = start + DISABLE_AFTER
    client.post(f"{WEBHOOKS}/{webhook['id']}/test", headers=tenant.headers)
    with database.session() as session:
        for delivery in session.scalars(select(WebhookDelivery)):
            delivery.next_attempt_at = clock.now
    deliver_all(deliverer)

    read = client.get(f"{WEBHOOKS}/{webhook['id']}", headers=tenant.headers).json()
    assert read["enabled"] is False
    assert "5 days" in read["disabled_reason"]
    feed = client.get(
        "/api/v1/events", params={"type": "webhook.disabled"}, headers=tenant.headers
    ).json()["items"]
    assert [item["data"]["webhook_id"] for item in feed] == [webhook["id"]]
    # Disabled: nothing more is attempted until it is enabled again.
    attempts = len(receiver.received)
    clock.now += timedelta(days=1)
    # An event while it is disabled is held for it, not dropped.
    with database.session() as session:
        events.emit(session, tenant_id=tenant.tenant.id, type=events.RUN_FINISHED, data={})
    deliver_all(deliverer)
    assert len(receiver.received) == attempts
    receiver.answers = [200]
    enabled = client.patch(
        f"{WEBHOOKS}/{webhook['id']}", json={"enabled": True}, headers=tenant.headers
    )
    assert enabled.json()["enabled"] is True
    deliver_all(deliverer)
    statuses = {d["status"] for d in deliveries(client, tenant, webhook["id"])}
    assert statuses == {"delivered"}
    assert receiver.of_type("run.finished"), "the event held while disabled went out"
    with database.session() as session:
        endpoint = session.get(WebhookEndpoint, uuid.UUID(webhook["id"]))
        assert endpoint is not None
        assert endpoint.failing_since is None
