"""Seed a realistic, deterministic AWS organization with API Gateway APIs.

Used by ``onboarder demo`` (a ``ThreadedMotoServer``; boto3 finds it through the standard
``AWS_ENDPOINT_URL`` variable) and by the tests (in-process ``moto.mock_aws``). The module only
uses plain boto3 clients built from the default credential chain, never an explicit endpoint and
never moto itself, so it behaves the same against either backend (and would against real AWS).
It expects a fresh backend: running it twice against the same one would create everything twice.

The organization (``MANAGEMENT`` is whatever ``sts:GetCallerIdentity`` says for the default
credentials, 123456789012 under moto)::

    management      APIsecCentralRole (trusts the platform principal + external id)
    shop-prod       us-east-1  shop-storefront-api         REST EDGE      prod, staging, dev
                               custom domain api.example-shop.com/v1 -> prod
                    us-east-1  shop-catalog-api            HTTP           $default (auto-deploy)
                               custom domain catalog.example-shop.com -> $default
                    eu-west-1  shop-storefront-api-eu      REST REGIONAL  prod, staging
                    eu-west-1  shop-live-chat              WEBSOCKET      production
                    + role APIGatewayAccessRole (platform principal + external id)
    shop-staging    us-east-1  shop-storefront-api-staging REST EDGE      staging, dev
                    us-east-1  shop-catalog-api-staging    HTTP           v1
                    eu-west-1  (no APIs)
                    + IAM user onboarder-reader with an access key
    payments-prod   us-east-1  (no APIs)
                    eu-west-1  payments-internal-api       REST PRIVATE   prod, staging
                               (two execute-api interface VPC endpoints in two VPCs)
                    eu-west-1  payments-webhooks           HTTP           v1
    data-sandbox    (no APIs anywhere)

Every member account gets ``APIsecChildRole`` (trusting the central role); Organizations itself
creates ``OrganizationAccountAccessRole`` there, which is how this module gets in.

What moto 5.2 cannot do, and how this module copes:

- IAM is not evaluated: trust policies, external ids and permission policies are stored exactly
  as AWS would need them, but moto lets any credentials assume any role and call anything.
- API Gateway V2 has no ``CreateDeployment``: HTTP/WebSocket stages are created directly and
  their ``SeededStage.deployment_id`` is ``""``.
- API Gateway V1 and V2 custom domains are separate namespaces in moto (in AWS they are one), so
  the REST API and the HTTP API use different domain names.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.session

CENTRAL_ROLE_NAME = "APIsecCentralRole"
CHILD_ROLE_NAME = "APIsecChildRole"
ORGANIZATION_ACCESS_ROLE_NAME = "OrganizationAccountAccessRole"
ASSUME_ROLE_NAME = "APIGatewayAccessRole"
READER_USER_NAME = "onboarder-reader"
DEMO_REGIONS: tuple[str, ...] = ("us-east-1", "eu-west-1")

_GLOBAL_REGION = "us-east-1"  # IAM, STS, Organizations and edge certificates live here
_SESSION_NAME = "onboarder-demo-seed"
_ACCOUNT_CREATION_TIMEOUT_SECONDS = 120.0


# --------------------------------------------------------------------------- public description


@dataclass(frozen=True)
class SeededStage:
    name: str
    deployment_id: str  # "" for HTTP/WebSocket stages (moto has no apigatewayv2 deployments)


@dataclass(frozen=True)
class SeededApi:
    account_id: str
    region: str
    api_id: str
    name: str
    protocol: str  # "REST" | "HTTP" | "WEBSOCKET"
    endpoint_type: str  # "EDGE" | "REGIONAL" | "PRIVATE"
    stages: tuple[SeededStage, ...]
    vpc_endpoint_ids: tuple[str, ...]  # non-empty only for the PRIVATE REST API
    # "<domain>/<base path>" per mapping to this API, or just "<domain>" for an empty base path
    custom_domains: tuple[str, ...]
    description: str = ""
    # "GET /products" style; REST paths use the resource path, e.g. "GET /orders/{id}"
    routes: tuple[str, ...] = ()

    @property
    def stage_names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)


@dataclass(frozen=True)
class SeededOrganization:
    management_account_id: str
    central_role_arn: str
    child_role_name: str
    member_account_ids: tuple[str, ...]
    accounts_without_child_role: tuple[str, ...]
    regions: tuple[str, ...]
    apis: tuple[SeededApi, ...]
    assume_role_arn: str
    user_access_key_id: str
    user_secret_access_key: str = field(repr=False)
    user_account_id: str
    organization_id: str = ""
    member_account_names: tuple[str, ...] = ()  # aligned with member_account_ids

    def apis_in(self, account_id: str, region: str) -> list[SeededApi]:
        return [api for api in self.apis if api.account_id == account_id and api.region == region]

    def account_id_named(self, name: str) -> str:
        """The member account id created under ``name`` (e.g. "shop-prod")."""
        for account_name, account_id in zip(
            self.member_account_names, self.member_account_ids, strict=True
        ):
            if account_name == name:
                return account_id
        raise KeyError(name)

    def api_named(self, name: str) -> SeededApi:
        for api in self.apis:
            if api.name == name:
                return api
        raise KeyError(name)


# --------------------------------------------------------------------------- what gets created


@dataclass(frozen=True)
class _AccountSpec:
    name: str
    email: str


@dataclass(frozen=True)
class _StageSpec:
    name: str
    description: str
    variables: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _DomainSpec:
    domain_name: str
    base_path: str  # "" = the whole domain
    stage: str


@dataclass(frozen=True)
class _RestApiSpec:
    account: str
    region: str
    name: str
    description: str
    endpoint_type: str
    backend_host: str
    authorizer: str  # "COGNITO_USER_POOLS" | "TOKEN"
    stages: tuple[_StageSpec, ...]
    tags: tuple[tuple[str, str], ...]
    domain: _DomainSpec | None = None


@dataclass(frozen=True)
class _HttpApiSpec:
    account: str
    region: str
    name: str
    description: str
    backend_host: str
    stage: _StageSpec
    auto_deploy: bool
    tags: tuple[tuple[str, str], ...]
    # (issuer, audience) of an external identity provider; None = the shop's Cognito user pool
    jwt: tuple[str, str] | None = None
    domain: _DomainSpec | None = None


@dataclass(frozen=True)
class _WebSocketApiSpec:
    account: str
    region: str
    name: str
    description: str
    handler_function: str
    stage: _StageSpec
    tags: tuple[tuple[str, str], ...]


_SHOP_PROD = _AccountSpec("shop-prod", "aws-shop-prod@example-shop.com")
_SHOP_STAGING = _AccountSpec("shop-staging", "aws-shop-staging@example-shop.com")
_PAYMENTS_PROD = _AccountSpec("payments-prod", "aws-payments-prod@example-shop.com")
_DATA_SANDBOX = _AccountSpec("data-sandbox", "aws-data-sandbox@example-shop.com")
_MEMBER_ACCOUNTS: tuple[_AccountSpec, ...] = (
    _SHOP_PROD,
    _SHOP_STAGING,
    _PAYMENTS_PROD,
    _DATA_SANDBOX,
)
_ASSUME_ROLE_ACCOUNT = _SHOP_PROD.name
_READER_USER_ACCOUNT = _SHOP_STAGING.name

_PROD = _StageSpec("prod", "Production traffic", (("logLevel", "ERROR"),))
_STAGING = _StageSpec("staging", "Pre-production, mirrors prod", (("logLevel", "INFO"),))
_DEV = _StageSpec("dev", "Developer sandbox", (("logLevel", "DEBUG"),))


def _tags(team: str, env: str, cost_center: str) -> tuple[tuple[str, str], ...]:
    return (("team", team), ("environment", env), ("cost-center", cost_center))


_EXAMPLE_SHOP_CERT_DOMAIN = "*.example-shop.com"

_REST_APIS: tuple[_RestApiSpec, ...] = (
    _RestApiSpec(
        account=_SHOP_PROD.name,
        region="us-east-1",
        name="shop-storefront-api",
        description="Public storefront API: product catalogue and order placement",
        endpoint_type="EDGE",
        backend_host="orders.internal.example-shop.com",
        authorizer="COGNITO_USER_POOLS",
        stages=(_PROD, _STAGING, _DEV),
        tags=_tags("storefront", "production", "cc-1001"),
        domain=_DomainSpec("api.example-shop.com", "v1", "prod"),
    ),
    _RestApiSpec(
        account=_SHOP_PROD.name,
        region="eu-west-1",
        name="shop-storefront-api-eu",
        description="Storefront API for EU customers (data stays in eu-west-1)",
        endpoint_type="REGIONAL",
        backend_host="orders.eu.internal.example-shop.com",
        authorizer="TOKEN",
        stages=(_PROD, _STAGING),
        tags=_tags("storefront", "production", "cc-1001"),
    ),
    _RestApiSpec(
        account=_SHOP_STAGING.name,
        region="us-east-1",
        name="shop-storefront-api-staging",
        description="Storefront API staging copy used by the QA team",
        endpoint_type="EDGE",
        backend_host="orders.staging.internal.example-shop.com",
        authorizer="TOKEN",
        stages=(_STAGING, _DEV),
        tags=_tags("storefront", "staging", "cc-1001"),
    ),
    _RestApiSpec(
        account=_PAYMENTS_PROD.name,
        region="eu-west-1",
        name="payments-internal-api",
        description="Internal payments API, reachable only from the payments VPCs",
        endpoint_type="PRIVATE",
        backend_host="ledger.payments.internal",
        authorizer="TOKEN",
        stages=(_PROD, _STAGING),
        tags=(*_tags("payments", "production", "cc-2040"), ("data-classification", "pci")),
    ),
)

_HTTP_APIS: tuple[_HttpApiSpec, ...] = (
    _HttpApiSpec(
        account=_SHOP_PROD.name,
        region="us-east-1",
        name="shop-catalog-api",
        description="Catalogue items API for the mobile app",
        backend_host="catalog.internal.example-shop.com",
        stage=_StageSpec("$default", "Auto-deployed default stage"),
        auto_deploy=True,
        tags=_tags("catalog", "production", "cc-1002"),
        domain=_DomainSpec("catalog.example-shop.com", "", "$default"),
    ),
    _HttpApiSpec(
        account=_SHOP_STAGING.name,
        region="us-east-1",
        name="shop-catalog-api-staging",
        description="Catalogue items API, staging",
        backend_host="catalog.staging.internal.example-shop.com",
        stage=_StageSpec("v1", "Versioned stage", (("logLevel", "INFO"),)),
        auto_deploy=False,
        tags=_tags("catalog", "staging", "cc-1002"),
        jwt=("https://auth.staging.example-shop.com/", "catalog-api-staging"),
    ),
    _HttpApiSpec(
        account=_PAYMENTS_PROD.name,
        region="eu-west-1",
        name="payments-webhooks",
        description="Inbound webhooks from card networks and PSPs",
        backend_host="webhooks.payments.internal",
        stage=_StageSpec("v1", "Versioned stage", (("logLevel", "ERROR"),)),
        auto_deploy=False,
        tags=_tags("payments", "production", "cc-2040"),
        jwt=("https://auth.example-shop.com/", "payments-webhooks"),
    ),
)

_WEBSOCKET_APIS: tuple[_WebSocketApiSpec, ...] = (
    _WebSocketApiSpec(
        account=_SHOP_PROD.name,
        region="eu-west-1",
        name="shop-live-chat",
        description="Customer support live chat",
        handler_function="shop-live-chat-handler",
        stage=_StageSpec("production", "Live chat production stage"),
        tags=_tags("support", "production", "cc-1003"),
    ),
)

_PRIVATE_API_VPCS: tuple[tuple[str, str], ...] = (
    ("payments-app-vpc", "10.40.0.0/16"),
    ("payments-batch-vpc", "10.41.0.0/16"),
)


# --------------------------------------------------------------------------- plumbing


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(principal_arn: str, external_id: str | None = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": principal_arn},
        "Action": "sts:AssumeRole",
    }
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return _policy(statement)


def _allow(actions: list[str], resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


@functools.cache
def _shared_data_loader() -> Any:
    return botocore.session.get_session().get_component("data_loader")


def _new_session() -> boto3.Session:
    """A fresh boto3 session whose botocore data loader is shared by every seeding.

    Credentials, region and ``AWS_ENDPOINT_URL`` are still resolved afresh from the environment;
    only the parsed service models are reused, which halves the time a repeated seeding takes.
    """
    core = botocore.session.get_session()
    loader = _shared_data_loader()
    core.register_component("data_loader", loader)
    session = boto3.Session(botocore_session=core)
    # boto3.Session appends its resource data path to the loader every time; keep it once.
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))
    return session


class _Account:
    """Clients acting inside one AWS account (the default credentials or an assumed role).

    All clients come from one boto3 session so botocore loads each service model only once.
    """

    def __init__(
        self, session: boto3.Session, account_id: str, credentials: dict[str, str] | None
    ) -> None:
        self._session = session
        self.account_id = account_id
        self._credentials = credentials
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region: str = _GLOBAL_REGION) -> Any:
        key = (service, region)
        if key not in self._clients:
            kwargs: dict[str, Any] = {"region_name": region}
            if self._credentials is not None:
                kwargs.update(
                    aws_access_key_id=self._credentials["AccessKeyId"],
                    aws_secret_access_key=self._credentials["SecretAccessKey"],
                    aws_session_token=self._credentials["SessionToken"],
                )
            self._clients[key] = self._session.client(service, **kwargs)
        return self._clients[key]

    def assume(self, role_arn: str, account_id: str) -> _Account:
        response = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=_SESSION_NAME)
        return _Account(self._session, account_id, response["Credentials"])


def _create_role(
    iam: Any, name: str, trust_policy: str, description: str, inline: dict[str, str]
) -> str:
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=trust_policy,
        Description=description,
        Tags=[{"Key": "managed-by", "Value": "onboarder-demo"}],
    )["Role"]
    for policy_name, document in inline.items():
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=document)
    return str(role["Arn"])


def _apigateway_read_policy() -> dict[str, str]:
    return {"APIGatewayReadOnly": _policy(_allow(["apigateway:GET"]))}


def _create_member_account(orgs: Any, spec: _AccountSpec) -> str:
    status = orgs.create_account(
        Email=spec.email, AccountName=spec.name, RoleName=ORGANIZATION_ACCESS_ROLE_NAME
    )["CreateAccountStatus"]
    deadline = time.monotonic() + _ACCOUNT_CREATION_TIMEOUT_SECONDS
    while status["State"] == "IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(1.0)  # never taken under moto, which creates accounts synchronously
        status = orgs.describe_create_account_status(CreateAccountRequestId=status["Id"])[
            "CreateAccountStatus"
        ]
    if status["State"] != "SUCCEEDED":
        raise RuntimeError(
            f"creating account {spec.name!r} ended in state {status['State']}: "
            f"{status.get('FailureReason', 'unknown reason')}"
        )
    return str(status["AccountId"])


# --------------------------------------------------------------------------- API Gateway


class _RegionalResources:
    """Lazily created things several APIs in one account/region share."""

    def __init__(self, account: _Account, region: str) -> None:
        self.account = account
        self.region = region
        self._user_pool: tuple[str, str] | None = None
        self._certificate_arn: str | None = None

    def user_pool(self) -> tuple[str, str]:
        """(user pool ARN, app client id) of the shop's customer pool."""
        if self._user_pool is None:
            cognito = self.account.client("cognito-idp", self.region)
            pool = cognito.create_user_pool(PoolName="shop-customers")["UserPool"]
            app_client = cognito.create_user_pool_client(
                UserPoolId=pool["Id"], ClientName="shop-web"
            )["UserPoolClient"]
            self._user_pool = (str(pool["Arn"]), str(app_client["ClientId"]))
        return self._user_pool

    def user_pool_issuer(self) -> str:
        pool_id = self.user_pool()[0].rsplit("/", 1)[1]
        return f"https://cognito-idp.{self.region}.amazonaws.com/{pool_id}"

    def certificate_arn(self) -> str:
        if self._certificate_arn is None:
            acm = self.account.client("acm", self.region)
            self._certificate_arn = str(
                acm.request_certificate(
                    DomainName=_EXAMPLE_SHOP_CERT_DOMAIN,
                    ValidationMethod="DNS",
                    SubjectAlternativeNames=["example-shop.com"],
                )["CertificateArn"]
            )
        return self._certificate_arn

    def lambda_invoke_uri(self, function_name: str) -> str:
        function_arn = (
            f"arn:aws:lambda:{self.region}:{self.account.account_id}:function:{function_name}"
        )
        return (
            f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
            f"{function_arn}/invocations"
        )


def _create_vpc_endpoints(shared: _RegionalResources) -> tuple[str, ...]:
    ec2 = shared.account.client("ec2", shared.region)
    endpoint_ids: list[str] = []
    for vpc_name, cidr in _PRIVATE_API_VPCS:
        vpc_id = ec2.create_vpc(
            CidrBlock=cidr,
            TagSpecifications=[
                {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": vpc_name}]}
            ],
        )["Vpc"]["VpcId"]
        prefix = cidr.rsplit(".", 2)[0]  # "10.40"
        subnet_ids = [
            ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=f"{prefix}.{index}.0/24",
                AvailabilityZone=f"{shared.region}{zone}",
            )["Subnet"]["SubnetId"]
            for index, zone in enumerate(("a", "b"), start=1)
        ]
        endpoint = ec2.create_vpc_endpoint(
            VpcEndpointType="Interface",
            VpcId=vpc_id,
            ServiceName=f"com.amazonaws.{shared.region}.execute-api",
            SubnetIds=subnet_ids,
            PrivateDnsEnabled=False,
            TagSpecifications=[
                {
                    "ResourceType": "vpc-endpoint",
                    "Tags": [{"Key": "Name", "Value": f"{vpc_name}-execute-api"}],
                }
            ],
        )["VpcEndpoint"]
        endpoint_ids.append(str(endpoint["VpcEndpointId"]))
    return tuple(endpoint_ids)


def _private_api_policy(vpc_endpoint_ids: tuple[str, ...]) -> str:
    return _policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": "execute-api:/*",
            "Condition": {"StringEquals": {"aws:SourceVpce": list(vpc_endpoint_ids)}},
        }
    )


def _create_rest_api(spec: _RestApiSpec, shared: _RegionalResources) -> SeededApi:
    apigw = shared.account.client("apigateway", shared.region)
    endpoint_configuration: dict[str, Any] = {"types": [spec.endpoint_type]}
    vpc_endpoint_ids: tuple[str, ...] = ()
    extra: dict[str, Any] = {}
    if spec.endpoint_type == "PRIVATE":
        vpc_endpoint_ids = _create_vpc_endpoints(shared)
        endpoint_configuration["vpcEndpointIds"] = list(vpc_endpoint_ids)
        extra["policy"] = _private_api_policy(vpc_endpoint_ids)
    api = apigw.create_rest_api(
        name=spec.name,
        description=spec.description,
        endpointConfiguration=endpoint_configuration,
        apiKeySource="HEADER",
        tags=dict(spec.tags),
        **extra,
    )
    api_id = str(api["id"])
    root_id = api.get("rootResourceId") or next(
        item["id"] for item in apigw.get_resources(restApiId=api_id)["items"] if item["path"] == "/"
    )

    def resource(parent_id: str, part: str) -> str:
        return str(apigw.create_resource(restApiId=api_id, parentId=parent_id, pathPart=part)["id"])

    products_id = resource(root_id, "products")
    orders_id = resource(root_id, "orders")
    order_id = resource(orders_id, "{id}")

    if spec.authorizer == "COGNITO_USER_POOLS":
        authorizer = apigw.create_authorizer(
            restApiId=api_id,
            name="shop-customers",
            type="COGNITO_USER_POOLS",
            providerARNs=[shared.user_pool()[0]],
            identitySource="method.request.header.Authorization",
        )
        order_auth_type = "COGNITO_USER_POOLS"
    else:
        authorizer = apigw.create_authorizer(
            restApiId=api_id,
            name=f"{spec.name}-token-authorizer",
            type="TOKEN",
            authorizerUri=shared.lambda_invoke_uri(f"{spec.name}-token-authorizer"),
            identitySource="method.request.header.Authorization",
            authorizerResultTtlInSeconds=300,
        )
        order_auth_type = "CUSTOM"

    # GET /products: public, answered by a MOCK integration
    apigw.put_method(
        restApiId=api_id, resourceId=products_id, httpMethod="GET", authorizationType="NONE"
    )
    apigw.put_method_response(
        restApiId=api_id, resourceId=products_id, httpMethod="GET", statusCode="200"
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=products_id,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigw.put_integration_response(
        restApiId=api_id,
        resourceId=products_id,
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": '{"products": []}'},
    )
    # POST /orders: API key + authorizer, proxied to the order service
    apigw.put_method(
        restApiId=api_id,
        resourceId=orders_id,
        httpMethod="POST",
        authorizationType=order_auth_type,
        authorizerId=authorizer["id"],
        apiKeyRequired=True,
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=orders_id,
        httpMethod="POST",
        type="HTTP_PROXY",
        integrationHttpMethod="POST",
        uri=f"https://{spec.backend_host}/orders",
    )
    # GET /orders/{id}: IAM-signed requests only
    apigw.put_method(
        restApiId=api_id,
        resourceId=order_id,
        httpMethod="GET",
        authorizationType="AWS_IAM",
        requestParameters={"method.request.path.id": True},
    )
    apigw.put_integration(
        restApiId=api_id,
        resourceId=order_id,
        httpMethod="GET",
        type="HTTP_PROXY",
        integrationHttpMethod="GET",
        uri=f"https://{spec.backend_host}/orders/{{id}}",
        requestParameters={"integration.request.path.id": "method.request.path.id"},
    )

    deployment_id = str(
        apigw.create_deployment(restApiId=api_id, description="Initial deployment")["id"]
    )
    stages: list[SeededStage] = []
    for stage in spec.stages:
        apigw.create_stage(
            restApiId=api_id,
            stageName=stage.name,
            deploymentId=deployment_id,
            description=stage.description,
            variables=dict(stage.variables),
            tracingEnabled=stage.name == "prod",
            tags=dict(spec.tags),
        )
        stages.append(SeededStage(name=stage.name, deployment_id=deployment_id))

    # Partners call POST /orders with an API key from a usage plan on the first stage.
    usage_plan_id = apigw.create_usage_plan(
        name=f"{spec.name}-partners",
        description="Rate limits for partner integrations",
        apiStages=[{"apiId": api_id, "stage": spec.stages[0].name}],
        throttle={"burstLimit": 200, "rateLimit": 100.0},
        quota={"limit": 1_000_000, "period": "MONTH"},
    )["id"]
    api_key_id = apigw.create_api_key(name=f"{spec.name}-partner-key", enabled=True)["id"]
    apigw.create_usage_plan_key(usagePlanId=usage_plan_id, keyId=api_key_id, keyType="API_KEY")

    custom_domains: tuple[str, ...] = ()
    if spec.domain is not None:
        custom_domains = (_map_rest_domain(apigw, shared, spec, api_id),)

    return SeededApi(
        account_id=shared.account.account_id,
        region=shared.region,
        api_id=api_id,
        name=spec.name,
        protocol="REST",
        endpoint_type=spec.endpoint_type,
        stages=tuple(stages),
        vpc_endpoint_ids=vpc_endpoint_ids,
        custom_domains=custom_domains,
        description=spec.description,
        routes=("GET /products", "POST /orders", "GET /orders/{id}"),
    )


def _described_domain(domain: _DomainSpec) -> str:
    return f"{domain.domain_name}/{domain.base_path}" if domain.base_path else domain.domain_name


def _map_rest_domain(
    apigw: Any, shared: _RegionalResources, spec: _RestApiSpec, api_id: str
) -> str:
    domain = spec.domain
    assert domain is not None
    if spec.endpoint_type == "EDGE":
        # Edge-optimized domains need their certificate in us-east-1.
        cert_args = {"certificateArn": shared.certificate_arn()}
    else:
        cert_args = {"regionalCertificateArn": shared.certificate_arn()}
    apigw.create_domain_name(
        domainName=domain.domain_name,
        endpointConfiguration={"types": [spec.endpoint_type]},
        securityPolicy="TLS_1_2",
        tags=dict(spec.tags),
        **cert_args,
    )
    mapping: dict[str, Any] = {"restApiId": api_id, "stage": domain.stage}
    if domain.base_path:
        mapping["basePath"] = domain.base_path
    apigw.create_base_path_mapping(domainName=domain.domain_name, **mapping)
    return _described_domain(domain)


def _create_http_api(spec: _HttpApiSpec, shared: _RegionalResources) -> SeededApi:
    apigw = shared.account.client("apigatewayv2", shared.region)
    api_id = str(
        apigw.create_api(
            Name=spec.name,
            ProtocolType="HTTP",
            Description=spec.description,
            CorsConfiguration={
                "AllowOrigins": ["https://www.example-shop.com"],
                "AllowMethods": ["GET", "POST"],
                "AllowHeaders": ["authorization", "content-type"],
            },
            Tags=dict(spec.tags),
        )["ApiId"]
    )
    if spec.jwt is None:
        issuer, audience = shared.user_pool_issuer(), shared.user_pool()[1]
    else:
        issuer, audience = spec.jwt
    authorizer_id = apigw.create_authorizer(
        ApiId=api_id,
        Name=f"{spec.name}-jwt",
        AuthorizerType="JWT",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Audience": [audience], "Issuer": issuer},
    )["AuthorizerId"]
    integration_id = apigw.create_integration(
        ApiId=api_id,
        IntegrationType="HTTP_PROXY",
        IntegrationMethod="ANY",
        IntegrationUri=f"https://{spec.backend_host}/items",
        PayloadFormatVersion="1.0",
    )["IntegrationId"]
    target = f"integrations/{integration_id}"
    apigw.create_route(ApiId=api_id, RouteKey="GET /items", AuthorizationType="NONE", Target=target)
    apigw.create_route(
        ApiId=api_id,
        RouteKey="POST /items",
        AuthorizationType="JWT",
        AuthorizerId=authorizer_id,
        AuthorizationScopes=["openid"],
        Target=target,
    )
    apigw.create_stage(
        ApiId=api_id,
        StageName=spec.stage.name,
        Description=spec.stage.description,
        AutoDeploy=spec.auto_deploy,
        StageVariables=dict(spec.stage.variables),
        Tags=dict(spec.tags),
    )
    custom_domains: tuple[str, ...] = ()
    if spec.domain is not None:
        domain = spec.domain
        apigw.create_domain_name(
            DomainName=domain.domain_name,
            DomainNameConfigurations=[
                {
                    "CertificateArn": shared.certificate_arn(),
                    "EndpointType": "REGIONAL",
                    "SecurityPolicy": "TLS_1_2",
                }
            ],
            Tags=dict(spec.tags),
        )
        apigw.create_api_mapping(
            ApiId=api_id,
            DomainName=domain.domain_name,
            Stage=domain.stage,
            ApiMappingKey=domain.base_path,
        )
        custom_domains = (_described_domain(domain),)
    return SeededApi(
        account_id=shared.account.account_id,
        region=shared.region,
        api_id=api_id,
        name=spec.name,
        protocol="HTTP",
        endpoint_type="REGIONAL",
        stages=(SeededStage(name=spec.stage.name, deployment_id=""),),
        vpc_endpoint_ids=(),
        custom_domains=custom_domains,
        description=spec.description,
        routes=("GET /items", "POST /items"),
    )


def _create_websocket_api(spec: _WebSocketApiSpec, shared: _RegionalResources) -> SeededApi:
    apigw = shared.account.client("apigatewayv2", shared.region)
    api_id = str(
        apigw.create_api(
            Name=spec.name,
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression="$request.body.action",
            Description=spec.description,
            Tags=dict(spec.tags),
        )["ApiId"]
    )
    integration_id = apigw.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationMethod="POST",
        IntegrationUri=shared.lambda_invoke_uri(spec.handler_function),
    )["IntegrationId"]
    route_keys = ("$connect", "$disconnect", "sendMessage")
    for route_key in route_keys:
        apigw.create_route(
            ApiId=api_id,
            RouteKey=route_key,
            AuthorizationType="AWS_IAM" if route_key == "$connect" else "NONE",
            Target=f"integrations/{integration_id}",
        )
    apigw.create_stage(
        ApiId=api_id,
        StageName=spec.stage.name,
        Description=spec.stage.description,
        Tags=dict(spec.tags),
    )
    return SeededApi(
        account_id=shared.account.account_id,
        region=shared.region,
        api_id=api_id,
        name=spec.name,
        protocol="WEBSOCKET",
        endpoint_type="REGIONAL",
        stages=(SeededStage(name=spec.stage.name, deployment_id=""),),
        vpc_endpoint_ids=(),
        custom_domains=(),
        description=spec.description,
        routes=route_keys,
    )


# --------------------------------------------------------------------------- entry point


def seed_demo_organization(*, platform_principal_arn: str, external_id: str) -> SeededOrganization:
    """Create the demo organization in whatever AWS boto3's default configuration points at.

    ``platform_principal_arn`` and ``external_id`` go into the trust policies of the central
    role and of ``APIGatewayAccessRole``, the roles the platform itself assumes.
    """
    session = _new_session()
    management = _Account(session, "", None)
    management.account_id = str(management.client("sts").get_caller_identity()["Account"])
    mgmt_id = management.account_id

    orgs = management.client("organizations")
    organization = orgs.create_organization(FeatureSet="ALL")["Organization"]
    member_ids = tuple(_create_member_account(orgs, spec) for spec in _MEMBER_ACCOUNTS)

    central_role_arn = _create_role(
        management.client("iam"),
        CENTRAL_ROLE_NAME,
        _trust(platform_principal_arn, external_id),
        "Assumed by the API discovery platform; hops into APIsecChildRole in member accounts",
        {
            "APIsecCentralAccess": _policy(
                _allow(
                    [
                        "sts:AssumeRole",
                        "organizations:ListAccounts",
                        "organizations:DescribeOrganization",
                    ]
                )
            )
        },
    )

    members: dict[str, _Account] = {}
    for spec, account_id in zip(_MEMBER_ACCOUNTS, member_ids, strict=True):
        member = management.assume(
            f"arn:aws:iam::{account_id}:role/{ORGANIZATION_ACCESS_ROLE_NAME}", account_id
        )
        _create_role(
            member.client("iam"),
            CHILD_ROLE_NAME,
            _trust(central_role_arn),
            "Lets APIsecCentralRole read API Gateway configuration in this account",
            _apigateway_read_policy(),
        )
        members[spec.name] = member

    assume_role_arn = _create_role(
        members[_ASSUME_ROLE_ACCOUNT].client("iam"),
        ASSUME_ROLE_NAME,
        _trust(platform_principal_arn, external_id),
        "Read-only API Gateway access for the API discovery platform",
        _apigateway_read_policy(),
    )

    reader_account = members[_READER_USER_ACCOUNT]
    reader_iam = reader_account.client("iam")
    reader_iam.create_user(
        UserName=READER_USER_NAME, Tags=[{"Key": "managed-by", "Value": "onboarder-demo"}]
    )
    reader_iam.put_user_policy(
        UserName=READER_USER_NAME,
        PolicyName="APIGatewayReadOnly",
        PolicyDocument=_policy(_allow(["apigateway:GET"])),
    )
    access_key = reader_iam.create_access_key(UserName=READER_USER_NAME)["AccessKey"]

    shared: dict[tuple[str, str], _RegionalResources] = {}

    def regional(account_name: str, region: str) -> _RegionalResources:
        key = (account_name, region)
        if key not in shared:
            shared[key] = _RegionalResources(members[account_name], region)
        return shared[key]

    apis: list[SeededApi] = []
    for rest in _REST_APIS:
        apis.append(_create_rest_api(rest, regional(rest.account, rest.region)))
    for http in _HTTP_APIS:
        apis.append(_create_http_api(http, regional(http.account, http.region)))
    for websocket in _WEBSOCKET_APIS:
        apis.append(_create_websocket_api(websocket, regional(websocket.account, websocket.region)))

    return SeededOrganization(
        management_account_id=mgmt_id,
        central_role_arn=central_role_arn,
        child_role_name=CHILD_ROLE_NAME,
        member_account_ids=member_ids,
        accounts_without_child_role=(mgmt_id,),
        regions=DEMO_REGIONS,
        apis=tuple(apis),
        assume_role_arn=assume_role_arn,
        user_access_key_id=str(access_key["AccessKeyId"]),
        user_secret_access_key=str(access_key["SecretAccessKey"]),
        user_account_id=reader_account.account_id,
        organization_id=str(organization["Id"]),
        member_account_names=tuple(spec.name for spec in _MEMBER_ACCOUNTS),
    )


# --------------------------------------------------------------------------- what fails


LEGACY_ACCOUNT = _AccountSpec("legacy-archive", "aws-legacy-archive@example-shop.com")
LEGACY_SCANNER_ROLE_NAME = "LegacyScannerRole"
UNASSUMABLE_ROLE_NAME = "APIGatewayAccessRole-OldVendor"
_OLD_VENDOR_EXTERNAL_ID = "old-vendor-external-id"


@dataclass(frozen=True)
class SeededFailures:
    """What a person trying the demo sees fail, as it fails in real estates (the demo's
    simulated AWS checks trust policies: app.integrations.aws.demo_trust)."""

    # A member account whose APIsecChildRole trusts an old scanner role, not the central role.
    refusing_account_id: str
    refusing_account_name: str
    # A role that trusts the platform only with another vendor's external id.
    unassumable_role_arn: str


def seed_demo_failures(org: SeededOrganization, *, platform_principal_arn: str) -> SeededFailures:
    """Add to a seeded organization what the demo shows failing: a member account whose child
    role refuses the central role, and a role the platform cannot assume."""
    session = _new_session()
    management = _Account(session, org.management_account_id, None)
    legacy_id = _create_member_account(management.client("organizations"), LEGACY_ACCOUNT)
    legacy = management.assume(
        f"arn:aws:iam::{legacy_id}:role/{ORGANIZATION_ACCESS_ROLE_NAME}", legacy_id
    )
    _create_role(
        legacy.client("iam"),
        org.child_role_name,
        _trust(f"arn:aws:iam::{org.management_account_id}:role/{LEGACY_SCANNER_ROLE_NAME}"),
        "Deployed for an old scanner: trusts LegacyScannerRole, not APIsecCentralRole",
        _apigateway_read_policy(),
    )
    shop_prod = org.account_id_named(_ASSUME_ROLE_ACCOUNT)
    member = management.assume(
        f"arn:aws:iam::{shop_prod}:role/{ORGANIZATION_ACCESS_ROLE_NAME}", shop_prod
    )
    unassumable = _create_role(
        member.client("iam"),
        UNASSUMABLE_ROLE_NAME,
        _trust(platform_principal_arn, _OLD_VENDOR_EXTERNAL_ID),
        "Trusts the platform with another vendor's external id, not this tenant's",
        _apigateway_read_policy(),
    )
    return SeededFailures(
        refusing_account_id=legacy_id,
        refusing_account_name=LEGACY_ACCOUNT.name,
        unassumable_role_arn=unassumable,
    )
