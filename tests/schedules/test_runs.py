"""What a run does, against the demo organization in moto: it onboards every in-scope API
that has no application, adds stages deployed since, and says what it skipped and why."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from moto.apigateway.models import apigateway_backends
from moto.apigatewayv2.models import apigatewayv2_backends
from sqlalchemy import event, update

from app.applications import service as applications_service
from app.core.db import Database
from app.integrations.aws.demo_organization import SeededApi, SeededOrganization
from app.integrations.aws.discovery import DiscoveryEngine
from app.models import Application
from app.schedules.runs import RunServices
from app.schedules.schemas import RUN_COUNTERS
from tests.applications.conftest import account_client, applications, onboarded, storefront_prod
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import StubPlan
from tests.discovery.conftest import create_connection
from tests.discovery.test_discovery_engine import _children_answered_by_moto_except
from tests.schedules.conftest import (
    DAILY_US,
    execute_queued,
    read_run,
    run_now,
    saved_schedule,
)


def run_once(
    client: TestClient,
    tenant: TenantWithKey,
    connection_id: str,
    database: Database,
    services: RunServices,
) -> dict[str, Any]:
    queued = run_now(client, tenant, connection_id)
    assert execute_queued(database, services) == [uuid.UUID(queued["id"])]
    return read_run(client, tenant, connection_id, queued["id"])


def counts(run: dict[str, Any]) -> dict[str, int]:
    return {name: run[name] for name in RUN_COUNTERS}


def run_with_child_role_denied(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    database: Database,
    run_services: RunServices,
    stub_service: dict[str, StubPlan],
    denied: str,
) -> dict[str, Any]:
    """A central-role run over the organization where `denied` refuses the child role.

    moto never refuses AssumeRole: the central role's STS answers come from a Stubber, in
    ListAccounts order, so the run makes one AWS request at a time."""
    stub_service[f"sts@{org.central_role_arn}"] = _children_answered_by_moto_except(
        org, tenant.tenant.external_id, denied
    )
    saved_schedule(client, tenant, central, **{**DAILY_US, "regions": list(org.regions)})
    services = RunServices(
        engine=DiscoveryEngine(max_in_flight=1),
        box=run_services.box,
        settings=run_services.settings,
    )
    return run_once(client, tenant, central, database, services)


def test_a_central_role_run_with_a_denied_account_is_partial_and_onboards_the_others(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    database: Database,
    run_services: RunServices,
    stub_service: dict[str, StubPlan],
) -> None:
    denied = org.account_id_named("shop-staging")
    run = run_with_child_role_denied(
        client, tenant, org, central, database, run_services, stub_service, denied
    )

    reached = [api for api in org.apis if api.account_id != denied]
    assert run["status"] == "partial"
    assert counts(run) == {
        "discovered": len(reached),
        "onboarded": len(reached),
        "instances_added": 0,
        "skipped_existing": 0,
        "skipped_out_of_scope": 0,
        "skipped_no_stage": 0,
    }
    assert [(e["account_id"], e["region"], e["code"]) for e in run["errors"]] == [
        (denied, None, "role_not_assumable")
    ]
    assert "trust policy" in run["errors"][0]["hint"]
    assert run["started_at"] <= run["finished_at"]
    onboarded_apps = applications(client, tenant, onboarded_via="auto_onboard")
    assert {app["source"]["api_id"] for app in onboarded_apps} == {api.api_id for api in reached}
    assert sorted(run["application_ids"]) == sorted(app["id"] for app in onboarded_apps)
    # Every deployed stage is an instance, each at all its URLs (the private API at both VPC
    # endpoints), and the definition is there as in manual onboarding.
    private = org.api_named("payments-internal-api")
    app = next(a for a in onboarded_apps if a["source"]["api_id"] == private.api_id)
    assert {i["stage"] for i in app["instances"]} == set(private.stage_names)
    assert len(app["instances"]) == len(private.stage_names) * (1 + len(private.vpc_endpoint_ids))
    assert app["definition"]["operations"] > 0
    per_place = {(r["account_id"], r["region"]): r for r in run["results"]}
    for api in reached:
        place = per_place[(api.account_id, api.region)]
        assert place["status"] == "ok"
        assert place["onboarded"] == len(org.apis_in(api.account_id, api.region))
    assert not any(account == denied for account, _ in per_place)


def test_the_management_account_without_a_child_role_does_not_make_a_run_partial(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    database: Database,
    run_services: RunServices,
    stub_service: dict[str, StubPlan],
) -> None:
    # Service-managed StackSets never put the child role in the management account.
    management = org.management_account_id
    run = run_with_child_role_denied(
        client, tenant, org, central, database, run_services, stub_service, management
    )

    assert run["status"] == "succeeded"
    assert run["errors"] == []
    assert run["onboarded"] == len(org.apis)
    unreachable = [
        (r["account_id"], r["region"]) for r in run["results"] if r["status"] == "unreachable"
    ]
    assert unreachable == [(management, region) for region in sorted(org.regions)]


def test_a_second_run_onboards_nothing_new(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    database: Database,
    run_services: RunServices,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    saved_schedule(client, tenant, central, **{**DAILY_US, "regions": list(org.regions)})
    # No thread that talks to AWS holds a database connection (so no transaction is open)
    # while AWS answers: discovery in the run's thread, each inspection in a pool thread.
    holding: Counter[int] = Counter()
    event.listen(database.engine, "checkout", lambda *_: holding.update([threading.get_ident()]))
    event.listen(database.engine, "checkin", lambda *_: holding.subtract([threading.get_ident()]))
    held: list[int] = []
    for owner, name in [(run_services.engine, "discover"), (applications_service, "inspect")]:
        original = getattr(owner, name)

        def watched(*args: Any, _original: Any = original, **kwargs: Any) -> Any:
            held.append(holding[threading.get_ident()])
            result = _original(*args, **kwargs)
            held.append(holding[threading.get_ident()])
            return result

        monkeypatch.setattr(owner, name, watched)
    first = run_once(client, tenant, central, database, run_services)
    assert len(held) == 2 * (1 + len(org.apis))
    assert set(held) == {0}

    second = run_once(client, tenant, central, database, run_services)

    assert (first["status"], first["onboarded"]) == ("succeeded", len(org.apis))
    assert second["status"] == "succeeded"
    assert counts(second) == {
        "discovered": len(org.apis),
        "onboarded": 0,
        "instances_added": 0,
        "skipped_existing": len(org.apis),
        "skipped_out_of_scope": 0,
        "skipped_no_stage": 0,
    }
    assert second["application_ids"] == []
    assert len(applications(client, tenant)) == len(org.apis)


def backdate(api: SeededApi, when: datetime) -> None:
    """Make an API look older than it is. moto has no way to say when an API was created, so
    this sets the date it keeps."""
    if api.protocol == "REST":
        apigateway_backends[api.account_id][api.region].apis[api.api_id].create_date = int(
            when.timestamp()
        )
    else:
        apis = apigatewayv2_backends[api.account_id][api.region].apis
        apis[api.api_id].created_date = when.astimezone().replace(tzinfo=None)


def test_scope_published_after_onboards_only_apis_created_since_that_day(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    database: Database,
    run_services: RunServices,
) -> None:
    old = [org.api_named("shop-storefront-api"), org.api_named("shop-catalog-api")]
    for api in old:
        backdate(api, datetime(2025, 12, 31, 22, 0, tzinfo=UTC))
    # 22:00 UTC on 31 December is already 1 January in Tokyo: in scope there, not in UTC.
    borderline = org.api_named("payments-webhooks")
    backdate(borderline, datetime(2025, 12, 31, 16, 0, tzinfo=UTC))  # 01:00 on 1 Jan, Tokyo
    body = {
        **DAILY_US,
        "regions": list(org.regions),
        "scope": "published_after",
        "published_after": "2026-01-01",
        "timezone": "Asia/Tokyo",
    }
    saved_schedule(client, tenant, central, **body)

    run = run_once(client, tenant, central, database, run_services)

    assert run["status"] == "succeeded"
    assert (run["onboarded"], run["skipped_out_of_scope"]) == (len(org.apis), 0)
    for application in applications(client, tenant):
        client.delete(f"/api/v1/applications/{application['id']}", headers=tenant.headers)

    saved_schedule(client, tenant, central, **{**body, "timezone": "UTC"})
    run = run_once(client, tenant, central, database, run_services)

    in_scope = {api.api_id for api in org.apis} - {api.api_id for api in [*old, borderline]}
    assert (run["onboarded"], run["skipped_out_of_scope"]) == (len(in_scope), 3)
    assert {a["source"]["api_id"] for a in applications(client, tenant)} == in_scope


def test_an_api_with_no_deployed_stage_is_skipped_with_that_reason(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    database: Database,
    run_services: RunServices,
    shop_prod: str,
) -> None:
    storefront = org.api_named("shop-storefront-api")
    apigateway = account_client(org, storefront, "apigateway")
    draft = apigateway.create_rest_api(name="orders-api-draft")["id"]
    saved_schedule(client, tenant, shop_prod, **{**DAILY_US, "regions": ["us-east-1"]})

    run = run_once(client, tenant, shop_prod, database, run_services)

    assert run["status"] == "succeeded"
    assert run["skipped_no_stage"] == 1
    assert run["skipped"] == [
        {
            "account_id": storefront.account_id,
            "region": "us-east-1",
            "api_id": draft,
            "name": "orders-api-draft",
            "reason": "no deployed stage: deploy the API to a stage",
        }
    ]
    in_account = org.apis_in(storefront.account_id, "us-east-1")
    assert run["onboarded"] == len(in_account)
    assert draft not in {a["source"]["api_id"] for a in applications(client, tenant)}


def test_stages_deployed_after_onboarding_become_instances_and_unchosen_ones_stay_out(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    database: Database,
    run_services: RunServices,
    shop_prod: str,
) -> None:
    catalog = org.api_named("shop-catalog-api")  # an HTTP API: moto dates its stages
    v2 = account_client(org, catalog, "apigatewayv2")
    v2.create_stage(ApiId=catalog.api_id, StageName="beta")
    # Deployed two hours ago (moto dates a stage when it is made; this sets its date)...
    api_in_moto = apigatewayv2_backends[catalog.account_id][catalog.region].apis[catalog.api_id]
    api_in_moto.stages["beta"].created = datetime.now() - timedelta(hours=2)
    # ... and onboarded by hand an hour ago with $default only: beta was left out on purpose.
    manual = onboarded(
        client,
        tenant,
        connection_id=shop_prod,
        region="us-east-1",
        api_id=catalog.api_id,
        stages=["$default"],
    )
    storefront = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    with database.session() as session:
        session.execute(
            update(Application).values(created_at=datetime.now(UTC) - timedelta(hours=1))
        )
    v2.create_stage(ApiId=catalog.api_id, StageName="v2")
    saved_schedule(client, tenant, shop_prod, **{**DAILY_US, "regions": ["us-east-1"]})

    run = run_once(client, tenant, shop_prod, database, run_services)

    assert run["status"] == "succeeded"
    assert run["instances_added"] == 1
    assert run["application_ids"] == [manual["id"]]
    after = client.get(f"/api/v1/applications/{manual['id']}", headers=tenant.headers).json()
    assert sorted((i["stage"], i["url"]) for i in after["instances"]) == [
        ("$default", f"https://{catalog.api_id}.execute-api.us-east-1.amazonaws.com"),
        ("v2", f"https://{catalog.api_id}.execute-api.us-east-1.amazonaws.com/v2"),
    ]
    assert after["onboarded_via"] == "manual"
    # The storefront (REST) keeps the one stage chosen for it.
    kept = client.get(f"/api/v1/applications/{storefront['id']}", headers=tenant.headers).json()
    assert kept["instances"] == storefront["instances"]


def test_a_region_that_fails_is_recorded_and_the_others_are_onboarded(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    database: Database,
    run_services: RunServices,
    shop_prod: str,
    stub_service: dict[str, StubPlan],
) -> None:
    # The one account's eu-west-1 refuses apigateway:GET (a Stubber: moto cannot deny it).
    def denied(stubber: Any) -> None:
        stubber.add_client_error(
            "get_rest_apis",
            service_error_code="AccessDeniedException",
            service_message="User is not authorized to perform: apigateway:GET",
            http_status_code=403,
        )

    stub_service["apigateway@eu-west-1"] = denied
    account = org.account_id_named("shop-prod")
    saved_schedule(client, tenant, shop_prod, **{**DAILY_US, "regions": list(org.regions)})

    run = run_once(client, tenant, shop_prod, database, run_services)

    assert run["status"] == "partial"
    assert [(e["account_id"], e["region"], e["code"]) for e in run["errors"]] == [
        (account, "eu-west-1", "access_denied")
    ]
    assert "apigateway:GET" in run["errors"][0]["hint"]
    assert run["onboarded"] == len(org.apis_in(account, "us-east-1"))
    statuses = {(r["account_id"], r["region"]): r["status"] for r in run["results"]}
    assert statuses == {(account, "us-east-1"): "ok", (account, "eu-west-1"): "failed"}


def test_a_run_that_reaches_nothing_fails_with_the_aws_error(
    client: TestClient,
    tenant: TenantWithKey,
    database: Database,
    run_services: RunServices,
    platform_user: Any,
    stub_service: dict[str, StubPlan],
) -> None:
    # The central role's account is in no organization. moto answers an empty account list
    # there; AWS answers AWSOrganizationsNotInUseException, given here by a Stubber.
    central_role_arn = "arn:aws:iam::999999999999:role/APIsecCentralRole"

    def not_in_use(stubber: Any) -> None:
        stubber.add_client_error(
            "list_accounts",
            service_error_code="AWSOrganizationsNotInUseException",
            service_message="Your account is not a member of an organization.",
            http_status_code=400,
        )

    stub_service[f"organizations@{central_role_arn}"] = not_in_use
    organization = create_connection(
        client,
        tenant,
        name="nowhere",
        credential_type="central_role",
        central_role_arn=central_role_arn,
    )
    saved_schedule(client, tenant, organization, **DAILY_US)

    run = run_once(client, tenant, organization, database, run_services)

    assert run["status"] == "failed"
    assert [(e["account_id"], e["region"], e["code"]) for e in run["errors"]] == [
        (None, None, "organizations_not_in_use")
    ]
    assert run["errors"][0]["hint"]
    assert applications(client, tenant) == []


@pytest.mark.usefixtures("org")
def test_runs_never_show_a_secret(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    database: Database,
    run_services: RunServices,
) -> None:
    user = create_connection(
        client,
        tenant,
        name="user",
        credential_type="aws_user",
        access_key_id=org.user_access_key_id,
        secret_access_key=org.user_secret_access_key,
    )
    saved_schedule(client, tenant, user, **{**DAILY_US, "regions": ["us-east-1"]})

    run = run_once(client, tenant, user, database, run_services)

    assert run["status"] == "succeeded"
    shop_staging = org.account_id_named("shop-staging")
    assert run["onboarded"] == len(org.apis_in(shop_staging, "us-east-1"))
    listing = client.get(
        f"/api/v1/connections/{user}/auto-onboard/runs", headers=tenant.headers
    ).text
    assert org.user_secret_access_key not in listing
    assert org.user_access_key_id not in listing
