"""An instance URL reached through a custom domain's routing rule keeps the headers the rule
matches: the testing platform must send them, or the request reaches another stage.

moto has no routing rules or routing modes: GetDomainNames and ListRoutingRules are answered
as AWS answers them (`aws_answers`, validated against botocore's service model), moto the rest.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.integrations.aws.demo_organization import SeededOrganization
from tests.applications.conftest import api_ref, onboarded
from tests.conftest import TenantWithKey
from tests.discovery.test_custom_domains import SHOP_DOMAIN, Answers, rule, shop_domain_routed


def test_an_instance_behind_a_header_rule_keeps_the_headers_to_send(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    aws_answers: Answers,
) -> None:
    storefront = org.api_named("shop-storefront-api")
    shop_domain_routed(aws_answers, "ROUTING_RULE_ONLY", "REGIONAL")
    aws_answers[("apigatewayv2", "ListRoutingRules")] = lambda _: {
        "RoutingRules": [
            rule(
                "beta", 10, storefront.api_id, "prod", base_path="beta", headers={"x-beta": "yes"}
            ),
            rule("main", 20, storefront.api_id, "prod", base_path="v1"),
        ]
    }
    beta, main = f"https://{SHOP_DOMAIN}/beta", f"https://{SHOP_DOMAIN}/v1"

    application = onboarded(
        client,
        tenant,
        connection_id=central,
        account_id=storefront.account_id,
        **api_ref(storefront),
        instance_urls=[beta, main],
    )

    instances = {i["url"]: i for i in application["instances"]}
    assert (instances[beta]["stage"], instances[beta]["required_headers"]) == (
        "prod",
        {"x-beta": "yes"},
    )
    assert instances[main]["required_headers"] == {}
    again = client.get(f"/api/v1/applications/{application['id']}", headers=tenant.headers)
    assert {i["url"]: i["required_headers"] for i in again.json()["instances"]} == {
        beta: {"x-beta": "yes"},
        main: {},
    }
