"""Change events drive syncs within seconds, not at the next run.

AWS is moto: the seeded demo organization, changed as its owners would (an API created and
deployed, an API deleted, a stage redeployed twenty times in a burst). CloudTrail and
EventBridge are not in the loop here (moto records no CloudTrail events): the test posts the
EventBridge event AWS would deliver for each call, shaped as AWS shapes it. The scheduler's
trigger loop runs in the test (`sync_due`) with a clock the test moves past the debounce window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.db import Database
from app.integrations.aws.demo_organization import SeededOrganization
from app.models import AutoOnboardRun
from app.schedules.runs import RunServices
from scheduler.ingest import TriggerWorker
from tests.applications.conftest import account_client, applications, onboarded, storefront_prod
from tests.conftest import AwsCall, TenantWithKey
from tests.discovery.conftest import create_connection
from tests.ingest.conftest import (
    cloudtrail_event,
    deployment_event,
    drain,
    ingest_status,
    new_token,
    post_events,
)
from tests.lifecycle.test_sync import kinds, redeploy_with_an_open_method
from tests.schedules.conftest import DAILY_US, FakeClock, saved_schedule
from tests.scope.test_approval import candidates

SyncDue = Callable[..., int]


@pytest.fixture
def sync_due(database: Database, run_services: RunServices, clock: FakeClock) -> Iterator[SyncDue]:
    """What the scheduler's trigger loop does once the debounce window has passed (or now,
    with `wait=False`): claim what is due and sync it; how many APIs it claimed."""
    worker = TriggerWorker(database=database, services=run_services, worker="test", clock=clock)

    def sync(*, wait: bool = True) -> int:
        if wait:
            clock.advance(seconds=run_services.settings.ingest_debounce_seconds + 1)
        claimed = 0
        while synced := drain(worker):
            claimed += synced
        return claimed

    yield sync
    worker.stop()


def create_deployed_api(org: SeededOrganization, name: str) -> tuple[str, str, str]:
    """A new REST API in shop-prod (us-east-1) with one open GET, deployed to prod, as its
    owner creates it: (account id, region, api id)."""
    storefront = org.api_named("shop-storefront-api")
    apigw = account_client(org, storefront, "apigateway")
    api_id = apigw.create_rest_api(name=name, endpointConfiguration={"types": ["REGIONAL"]})["id"]
    root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
    apigw.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    return storefront.account_id, storefront.region, api_id


def feed_types(client: TestClient, tenant: TenantWithKey) -> list[str]:
    response = client.get("/api/v1/events", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [event["type"] for event in response.json()["items"]]


def test_a_new_api_deployed_is_onboarded_without_a_run(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    sync_due: SyncDue,
    database: Database,
) -> None:
    saved_schedule(client, tenant, shop_prod, **DAILY_US)
    token = new_token(client, tenant, shop_prod)["token"]
    account, region, api_id = create_deployed_api(org, "orders-api")
    created = cloudtrail_event(
        "CreateRestApi",
        account=account,
        region=region,
        request={"name": "orders-api"},
        response={"id": api_id, "name": "orders-api"},
    )

    response = post_events(
        client, shop_prod, token, [created, deployment_event(account, region, api_id)]
    )

    assert response.status_code == 202
    assert sync_due(wait=False) == 0, "nothing is synced while the API may still be changing"
    assert sync_due() == 1
    [application] = [a for a in applications(client, tenant) if a["source"]["api_id"] == api_id]
    source = application["source"]
    assert (source["account_id"], source["region"]) == (account, region)
    assert [i["url"] for i in application["instances"]] == [
        f"https://{api_id}.execute-api.{region}.amazonaws.com/prod"
    ]
    assert "application.onboarded" in feed_types(client, tenant)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(AutoOnboardRun)) == 0
    status = ingest_status(client, tenant, shop_prod)
    assert {(t["status"], t["outcome"]) for t in status["recent"]} == {("done", "onboarded")}
    assert {t["application_id"] for t in status["recent"]} == {application["id"]}
    assert (status["pending"], status["dropped_24h"]) == (0, [])


def test_an_api_deleted_in_aws_is_retired_by_its_event(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    sync_due: SyncDue,
) -> None:
    application = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    token = new_token(client, tenant, shop_prod)["token"]
    api = org.api_named("shop-storefront-api")
    account_client(org, api, "apigateway").delete_rest_api(restApiId=api.api_id)
    deleted = cloudtrail_event(
        "DeleteRestApi",
        account=api.account_id,
        region=api.region,
        request={"restApiId": api.api_id},
    )

    assert post_events(client, shop_prod, token, deleted).status_code == 202
    sync_due()

    assert kinds(client, tenant, application["id"]) == ["retired", "onboarded"]
    assert [a["id"] for a in applications(client, tenant, status="retired")] == [application["id"]]
    assert "application.retired" in feed_types(client, tenant)
    [trigger] = ingest_status(client, tenant, shop_prod)["recent"]
    assert (trigger["outcome"], trigger["application_id"]) == ("retired", application["id"])


def test_twenty_events_of_one_deploy_are_one_sync(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    sync_due: SyncDue,
    aws_calls: list[AwsCall],
) -> None:
    application = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    token = new_token(client, tenant, shop_prod)["token"]
    api = org.api_named("shop-storefront-api")
    redeploy_with_an_open_method(org, api, "debug")
    burst = [deployment_event(api.account_id, api.region, api.api_id) for _ in range(10)] + [
        cloudtrail_event(
            "UpdateStage",
            account=api.account_id,
            region=api.region,
            request={"restApiId": api.api_id, "stageName": "prod"},
        )
        for _ in range(10)
    ]
    for event in burst:
        assert post_events(client, shop_prod, token, event).status_code == 202
    aws_calls.clear()

    assert sync_due() == 1, "one API: one claim"

    described = [c for c in aws_calls if c.operation == "GetRestApi"]
    assert len(described) == 1, [c.operation for c in aws_calls]
    assert kinds(client, tenant, application["id"]).count("definition_changed") == 1
    recent = ingest_status(client, tenant, shop_prod)["recent"]
    assert len(recent) == 20
    assert {(t["status"], t["outcome"]) for t in recent} == {("done", "synced")}
    assert sync_due() == 0, "nothing is left to sync"


def test_events_out_of_reach_or_scope_are_dropped_with_the_reason(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    shop_prod: str,
    sync_due: SyncDue,
) -> None:
    shop_account = org.account_id_named("shop-prod")
    saved_schedule(client, tenant, central, **DAILY_US, accounts={"exclude": [shop_account]})
    central_token = new_token(client, tenant, central)["token"]
    shop_token = new_token(client, tenant, shop_prod)["token"]
    account, region, api_id = create_deployed_api(org, "excluded-api")
    other_account = org.account_id_named("payments-prod")
    user = create_connection(
        client,
        tenant,
        name="reader",
        credential_type="aws_user",
        access_key_id=org.user_access_key_id,
        secret_access_key=org.user_secret_access_key,
    )
    user_token = new_token(client, tenant, user)["token"]

    for connection_id, token, event in (
        (central, central_token, deployment_event(account, region, api_id)),
        (shop_prod, shop_token, deployment_event(other_account, region, "q1w2e3r4t5")),
        (shop_prod, shop_token, deployment_event(account, region, api_id)),
        # A region of another partition (aws-iso-b): never this connection's.
        (user, user_token, deployment_event(account, "us-isob-east-1", api_id)),
    ):
        assert post_events(client, connection_id, token, event).status_code == 202
    sync_due()

    [excluded] = ingest_status(client, tenant, central)["dropped_24h"]
    assert (excluded["reason"], excluded["count"]) == ("out_of_scope", 1)
    assert shop_account in excluded["detail"]
    assert "accounts.exclude" in excluded["detail"]
    shop = {d["reason"]: d for d in ingest_status(client, tenant, shop_prod)["dropped_24h"]}
    assert set(shop) == {"account_not_reached", "no_schedule"}
    assert other_account in shop["account_not_reached"]["detail"]
    assert "auto-onboard schedule" in shop["no_schedule"]["detail"]
    [region_dropped] = ingest_status(client, tenant, user)["dropped_24h"]
    assert region_dropped["reason"] == "region_not_reached"
    assert all(a["source"]["api_id"] != api_id for a in applications(client, tenant))


def test_the_scheduler_process_syncs_events_by_itself(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    app: Any,
) -> None:
    """The embedded scheduler (as `onboarder serve` runs it) picks triggers up on its own."""
    from scheduler.process import embedded
    from tests.schedules.conftest import wait_for

    settings = app.state.settings
    settings.ingest_debounce_seconds = 0.2
    settings.ingest_poll_seconds = 0.1
    saved_schedule(client, tenant, shop_prod, **DAILY_US)
    token = new_token(client, tenant, shop_prod)["token"]
    account, region, api_id = create_deployed_api(org, "live-api")
    with embedded(app):
        post_events(client, shop_prod, token, deployment_event(account, region, api_id))
        wait_for(
            lambda: any(a["source"]["api_id"] == api_id for a in applications(client, tenant)),
            seconds=30,
        )


def test_a_base_path_mapping_deleted_retires_the_domain_instance(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    sync_due: SyncDue,
) -> None:
    """DeleteBasePathMapping names the domain, not the API: the applications answering at
    that domain are synced."""
    domain_url = "https://api.example-shop.com/v1"
    body = {**storefront_prod(org, shop_prod), "stages": [], "instance_urls": [domain_url]}
    application = onboarded(client, tenant, **body)
    token = new_token(client, tenant, shop_prod)["token"]
    api = org.api_named("shop-storefront-api")
    apigw = account_client(org, api, "apigateway")
    apigw.delete_base_path_mapping(domainName="api.example-shop.com", basePath="v1")
    unmapped = cloudtrail_event(
        "DeleteBasePathMapping",
        account=api.account_id,
        region=api.region,
        request={"domainName": "api.example-shop.com", "basePath": "v1"},
    )

    assert post_events(client, shop_prod, token, unmapped).status_code == 202
    sync_due()

    instances = {
        i["url"]: i["status"]
        for i in client.get(
            f"/api/v1/applications/{application['id']}", headers=tenant.headers
        ).json()["instances"]
    }
    assert instances[domain_url] == "retired"
    assert "instance_retired" in kinds(client, tenant, application["id"])
    [trigger] = ingest_status(client, tenant, shop_prod)["recent"]
    assert (trigger["target"], trigger["outcome"]) == ("domain:api.example-shop.com", "synced")


def test_an_http_apis_sync_asks_api_gateway_v2_only(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    sync_due: SyncDue,
    aws_calls: list[AwsCall],
) -> None:
    """The application knows its protocol: no GetRestApi 404 before GetApi."""
    catalog = org.api_named("shop-catalog-api")
    onboarded(
        client,
        tenant,
        connection_id=shop_prod,
        region=catalog.region,
        api_id=catalog.api_id,
        stages=["$default"],
    )
    token = new_token(client, tenant, shop_prod)["token"]
    updated = cloudtrail_event(
        "UpdateStage",
        account=catalog.account_id,
        region=catalog.region,
        request={"apiId": catalog.api_id, "stageName": "$default"},
    )
    assert post_events(client, shop_prod, token, updated).status_code == 202
    aws_calls.clear()

    sync_due()

    services = {(c.service, c.operation) for c in aws_calls if c.operation.startswith("Get")}
    assert ("apigatewayv2", "GetApi") in services
    assert ("apigateway", "GetRestApi") not in services
    [trigger] = ingest_status(client, tenant, shop_prod)["recent"]
    assert trigger["status"] == "done"


def test_in_approval_mode_a_new_api_is_held_as_a_candidate_not_onboarded(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    sync_due: SyncDue,
) -> None:
    saved_schedule(client, tenant, shop_prod, **DAILY_US, approval=True)
    token = new_token(client, tenant, shop_prod)["token"]
    account, region, api_id = create_deployed_api(org, "needs-a-yes")

    post_events(client, shop_prod, token, deployment_event(account, region, api_id))
    sync_due()

    assert [c["api_id"] for c in candidates(client, tenant, shop_prod)] == [api_id]
    assert all(a["source"]["api_id"] != api_id for a in applications(client, tenant))
    [trigger] = ingest_status(client, tenant, shop_prod)["recent"]
    assert trigger["outcome"] == "held_for_approval"

    # Dismissed, and touched again without a new deployment: not offered again.
    [candidate] = candidates(client, tenant, shop_prod)
    dismissed = client.post(f"/api/v1/candidates/{candidate['id']}/dismiss", headers=tenant.headers)
    assert dismissed.status_code == 200, dismissed.text
    touched = cloudtrail_event(
        "UpdateRestApi", account=account, region=region, request={"restApiId": api_id}
    )
    post_events(client, shop_prod, token, touched)
    sync_due()

    assert candidates(client, tenant, shop_prod) == []
    [dropped] = ingest_status(client, tenant, shop_prod)["dropped_24h"]
    assert dropped["reason"] == "out_of_scope"
    assert "dismissed" in dropped["detail"]
