"""Webhook endpoints over HTTP: the secret shown once and kept encrypted, rotation, the URLs
production mode refuses (SSRF), and what each receiver is sent."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from standardwebhooks import Webhook

from app.core.config import LogFormat, Mode, Settings
from app.core.db import Database
from app.core.security import SecretBox
from app.events import service as events
from app.main import create_app
from app.models import WebhookDelivery
from app.webhooks import guard, service
from tests.conftest import TenantWithKey
from tests.webhooks.conftest import Clock, DelivererFactory, Receiver, add_webhook, deliver_all

WEBHOOKS = "/api/v1/webhooks"


def test_the_secret_is_shown_once_kept_encrypted_and_never_logged(
    client: TestClient,
    tenant: TenantWithKey,
    receiver: Receiver,
    database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        created = add_webhook(client, tenant, receiver, description="scanner")
        secret = created["secret"]
        assert secret.startswith("whsec_")
        texts = [
            client.get(WEBHOOKS, headers=tenant.headers).text,
            client.get(f"{WEBHOOKS}/{created['id']}", headers=tenant.headers).text,
            client.patch(
                f"{WEBHOOKS}/{created['id']}", json={"description": "x"}, headers=tenant.headers
            ).text,
            client.post(f"{WEBHOOKS}/{created['id']}/test", headers=tenant.headers).text,
            client.get(f"{WEBHOOKS}/{created['id']}/deliveries", headers=tenant.headers).text,
        ]
    raw = secret.removeprefix("whsec_")
    for shown in texts:
        assert raw not in shown
    for record in caplog.records:
        assert raw not in record.getMessage()
        assert raw not in str(record.__dict__)
    with database.session() as session:
        for row in session.execute(text("SELECT * FROM webhook_endpoints")):
            assert all(raw not in str(value) for value in row)


def test_rotation_signs_with_both_secrets_for_a_day_then_only_the_new_one(
    client: TestClient,
    tenant: TenantWithKey,
    receiver: Receiver,
    make_deliverer: DelivererFactory,
) -> None:
    created = add_webhook(client, tenant, receiver)
    old = created["secret"]
    rotated = client.post(f"{WEBHOOKS}/{created['id']}/rotate-secret", headers=tenant.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    until = datetime.fromisoformat(rotated.json()["previous_secret_valid_until"])
    assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)

    client.post(f"{WEBHOOKS}/{created['id']}/test", headers=tenant.headers)
    clock = Clock(datetime.now(UTC) + timedelta(seconds=1))
    deliver_all(make_deliverer(clock=clock))
    [first] = receiver.received
    raw = json.dumps(first.body, separators=(",", ":"), sort_keys=True)
    # A receiver holding either secret verifies it.
    Webhook(old).verify(raw, first.headers)
    Webhook(new).verify(raw, first.headers)

    client.post(f"{WEBHOOKS}/{created['id']}/test", headers=tenant.headers)
    clock.now = until + timedelta(seconds=1)
    deliver_all(make_deliverer(clock=clock))
    second = receiver.received[-1]
    assert len(second.headers["webhook-signature"].split(" ")) == 1
    receiver.secret = new
    assert receiver.verify(
        json.dumps(second.body, separators=(",", ":"), sort_keys=True).encode(),
        second.headers,
    )


def test_each_endpoint_gets_the_types_it_asked_for(
    client: TestClient,
    tenant: TenantWithKey,
    make_receiver: Any,
    make_deliverer: DelivererFactory,
    database: Database,
) -> None:
    everything, runs_only = make_receiver(), make_receiver()
    add_webhook(client, tenant, everything)
    add_webhook(client, tenant, runs_only, event_types=["run.finished"])
    with database.session() as session:
        for type_ in (events.RUN_FINISHED, events.CONNECTION_FAILED, events.RUN_FINISHED):
            events.emit(session, tenant_id=tenant.tenant.id, type=type_, data={})

    deliver_all(make_deliverer())

    assert [r.body["type"] for r in runs_only.received] == ["run.finished"] * 2
    assert sorted(r.body["type"] for r in everything.received) == [
        "connection.failed",
        "run.finished",
        "run.finished",
    ]
    assert all(r.verified for r in [*everything.received, *runs_only.received])


def test_deleting_an_endpoint_drops_its_deliveries_but_not_the_events(
    client: TestClient, tenant: TenantWithKey, receiver: Receiver, database: Database
) -> None:
    created = add_webhook(client, tenant, receiver)
    client.post(f"{WEBHOOKS}/{created['id']}/test", headers=tenant.headers)

    deleted = client.delete(f"{WEBHOOKS}/{created['id']}", headers=tenant.headers)

    assert deleted.status_code == 204
    assert client.get(f"{WEBHOOKS}/{created['id']}", headers=tenant.headers).status_code == 404
    with database.session() as session:
        assert session.scalars(select(WebhookDelivery)).all() == []
    feed = client.get("/api/v1/events", headers=tenant.headers).json()["items"]
    assert [event["type"] for event in feed] == ["webhook.test"]


def test_what_cannot_be_done_says_why(
    client: TestClient,
    tenant: TenantWithKey,
    receiver: Receiver,
    make_deliverer: DelivererFactory,
    make_tenant: Any,
) -> None:
    created = add_webhook(client, tenant, receiver)
    url = f"{WEBHOOKS}/{created['id']}"
    sent = client.post(f"{url}/test", headers=tenant.headers).json()
    deliver_all(make_deliverer())

    again = client.post(f"{url}/deliveries/{sent['event_id']}/retry", headers=tenant.headers)
    assert (again.status_code, again.json()["code"]) == (409, "webhook_delivered")
    unknown = client.post(f"{url}/deliveries/{uuid.uuid4()}/retry", headers=tenant.headers)
    assert unknown.status_code == 404
    client.patch(url, json={"enabled": False}, headers=tenant.headers)
    disabled = client.post(f"{url}/test", headers=tenant.headers)
    assert (disabled.status_code, disabled.json()["code"]) == (409, "webhook_disabled")
    assert "enabled" in disabled.json()["hint"]
    # Another tenant's endpoint does not exist for this one.
    other = make_tenant()
    assert client.get(url, headers=other.headers).status_code == 404
    assert client.delete(url, headers=other.headers).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/hook"}, "url"),
        ({"url": "https://user:pass@example.com/hook"}, "url"),
        ({"url": "https://example.com", "event_types": ["application.deleted"]}, "event_types"),
        ({"url": "https://example.com", "event_types": []}, "event_types"),
        ({"url": "https://example.com", "secret": "mine"}, "secret"),
        ({}, "url"),
    ],
)
def test_a_malformed_webhook_is_a_422_naming_the_field_and_saves_nothing(
    client: TestClient, tenant: TenantWithKey, body: dict[str, Any], field: str
) -> None:
    response = client.post(WEBHOOKS, json=body, headers=tenant.headers)

    assert response.status_code == 422, response.text
    fields = {error["field"].split(".")[0] for error in response.json()["errors"]}
    assert field in fields
    assert client.get(WEBHOOKS, headers=tenant.headers).json()["items"] == []


# ------------------------------------------------------------------ production mode (SSRF)
@pytest.fixture
def production_client(database_url: str, tmp_path: Any) -> Any:
    settings = Settings(
        mode=Mode.PRODUCTION,
        data_dir=tmp_path / "prod",
        database_url=database_url,
        encryption_keys=[Fernet.generate_key().decode()],
        log_format=LogFormat.TEXT,
        auto_migrate=False,
        platform_principal_arn="arn:aws:iam::123456789012:role/platform",
    )
    with TestClient(create_app(settings, configure_logs=False)) as client:
        yield client


def _resolving_to(address: str) -> guard.Resolver:
    return lambda host, port: [address]


@pytest.mark.parametrize(
    ("url", "resolves_to", "why"),
    [
        ("http://hooks.example.com/in", None, "https"),
        ("https://127.0.0.1/in", None, "loopback"),
        ("https://10.1.2.3/in", None, "private"),
        ("https://[::1]:8443/in", None, "loopback"),
        ("https://169.254.169.254/latest/meta-data", None, "metadata"),
        ("https://[fd00:ec2::254]/", None, "metadata"),
        ("https://100.64.0.1/in", None, "non-public"),
        ("https://hooks.example.com/in", "192.168.1.20", "private"),
        ("https://hooks.example.com/in", "169.254.10.1", "link-local"),
        ("https://internal.example.com/in", "::ffff:127.0.0.1", "loopback"),
    ],
)
def test_production_mode_refuses_urls_into_private_networks(
    production_client: TestClient,
    tenant: TenantWithKey,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    resolves_to: str | None,
    why: str,
) -> None:
    if resolves_to is not None:
        monkeypatch.setattr(guard, "resolve", _resolving_to(resolves_to))

    response = production_client.post(WEBHOOKS, json={"url": url}, headers=tenant.headers)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "webhook_url_not_allowed"
    assert problem["errors"][0]["field"] == "url"
    assert why in problem["errors"][0]["message"]
    listed = production_client.get(WEBHOOKS, headers=tenant.headers).json()["items"]
    assert listed == []


def test_production_mode_takes_a_public_https_receiver(
    production_client: TestClient, tenant: TenantWithKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(guard, "resolve", _resolving_to("93.184.216.34"))

    response = production_client.post(
        WEBHOOKS, json={"url": "https://hooks.example.com/in"}, headers=tenant.headers
    )

    assert response.status_code == 201, response.text


def test_each_delivery_checks_the_address_again_and_refuses_a_name_now_private(
    client: TestClient,
    tenant: TenantWithKey,
    make_deliverer: DelivererFactory,
    database: Database,
) -> None:
    # Saved while the name resolved to a public address; at delivery it resolves to the
    # metadata service (DNS rebinding): nothing is sent, and the attempt says why.
    with database.session() as session:
        box = SecretBox([Fernet.generate_key().decode()])
        endpoint, _ = service.create(
            session,
            tenant_id=tenant.tenant.id,
            url="https://hooks.example.com/in",
            event_types=None,
            description=None,
            box=box,
            production=False,
        )
        events.emit(session, tenant_id=tenant.tenant.id, type=events.RUN_FINISHED, data={})
    deliverer = make_deliverer(production=True, box=box, resolver=_resolving_to("169.254.169.254"))

    deliver_all(deliverer)

    [delivery] = client.get(f"{WEBHOOKS}/{endpoint.id}/deliveries", headers=tenant.headers).json()[
        "items"
    ]
    assert delivery["status"] == "pending"
    assert delivery["attempts"] == 1
    assert delivery["last_error"].startswith("webhook_url_not_allowed")
    assert "metadata" in delivery["last_error"]
