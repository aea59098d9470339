"""A simulated AWS endpoint that botocore talks to over HTTP, for the benchmarks in bench/.

It answers what discovery and onboarding call, with AWS's wire formats: STS AssumeRole (query/XML),
Organizations ListAccounts (JSON 1.1, pages of at most 20) and DescribeOrganization (the management
account, also when the central role is a delegated administrator's), the API Gateway v1 and v2
listings (REST-JSON, with realistic items; REST APIs may carry a resource policy, as AWS escapes
it, REST stages canarySettings and a webAclArn, and stages may serve the same deployment), custom
domains as AWS has them (v1 GetDomainNames with routingMode, private domains with their
domainNameId, whose GetBasePathMappings answers 404 NotFoundException unless asked with it; base
path mappings without a stage; v2 GetDomainNames with routingMode, listing the HTTP/WebSocket
domains and the public REST domains with routing rules; apigatewayv2 ListRoutingRules, paged, at
most 100 a page), and what onboarding reads of one API: v1 GetRestApi, GetStages, GetDeployment(s)
(with apiSummary when asked for it by embed=apisummary, except for a share of the REST APIs,
`no_summary_share`, chosen per API), GetResources (embed=methods, paged), GetMethod, GetAuthorizers
and GetExport of a stage (an OpenAPI 3 document of the stage's deployment, with the API Gateway
extensions and security schemes), v2 GetApi, GetStages, GetRoutes, GetAuthorizer(s) and ExportApi
(of a stage).

Every answer waits `latency` seconds. API Gateway calls past 10 requests per second (burst 40)
per account and region get a 429 TooManyRequestsException, as AWS's control-plane quota does,
and so do GetResources calls past AWS's own quota for them: 5 every 2 seconds per account, all
regions together (rate 2.5/s, burst 5), on top of the first. Calls are counted per operation
(`/__stats`); `/__mark` starts a second count beside the first, for the phases of a run.
`/__mutate?seed=` changes the organization between runs (organization.mutate: some APIs get a
new deployment on one stage, serving one more operation, some are deleted and answer 404;
`&changed=` and `&deleted=` give the shares, organization.CHANGED_SHARE and DELETED_SHARE else),
`/__restore` brings the original back.

Clients find it through the standard `AWS_ENDPOINT_URL`. The service is read from the SigV4
credential scope, the account from the access key id (the simulated STS encodes it there).
It runs in its own process (`start_in_subprocess`) so it never competes for the client's GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bench.discovery.organization import (
    CENTRAL_ROLE_NAME,
    CHANGED_SHARE,
    CHILD_ROLE_NAME,
    DELETED_SHARE,
    NO_SUMMARY_SHARE,
    ORGANIZATION_ID,
    V2_ROUTING_MODES,
    SimApi,
    SimAuthorizer,
    SimDomain,
    SimMethod,
    SimOrganization,
    SimResource,
    SimRule,
    SimStage,
    SimSurface,
    build_organization,
    deployed_methods,
    deployed_routes,
    deployment_ids,
    has_api_summary,
    mutate,
    resource_policy,
    surface_of,
)

PLATFORM_ACCOUNT_ID = "999999999999"
PLATFORM_ACCESS_KEY_ID = "AKIAPLATFORM00000000"
PLATFORM_SECRET_ACCESS_KEY = "platform/secret/key/for/the/benchmark/xx"
QUOTA_RATE = 10.0
QUOTA_BURST = 40.0
# GetResources: 5 requests every 2 seconds per account (all regions), besides the quota above.
RESOURCES_QUOTA_RATE = 2.5
RESOURCES_QUOTA_BURST = 5.0
LIST_ACCOUNTS_PAGE = 20
APIGATEWAY_MAX_PAGE = 500
# ListRoutingRules: maxResults is an integer of at most 100 (botocore's service model).
ROUTING_RULES_MAX_PAGE = 100
# Path templates (ids as {}) to operation names, as boto3 names them.
V1_OPERATIONS = {
    "restapis": "GetRestApis",
    "restapis/{}": "GetRestApi",
    "restapis/{}/stages": "GetStages",
    "restapis/{}/deployments": "GetDeployments",
    "restapis/{}/deployments/{}": "GetDeployment",
    "restapis/{}/resources": "GetResources",
    "restapis/{}/resources/{}/methods/{}": "GetMethod",
    "restapis/{}/authorizers": "GetAuthorizers",
    "restapis/{}/stages/{}/exports/{}": "GetExport",
    "domainnames": "GetDomainNames",
    "domainnames/{}/basepathmappings": "GetBasePathMappings",
}
V2_OPERATIONS = {
    "apis": "GetApis",
    "apis/{}": "GetApi",
    "apis/{}/stages": "GetStages",
    "apis/{}/routes": "GetRoutes",
    "apis/{}/authorizers": "GetAuthorizers",
    "apis/{}/authorizers/{}": "GetAuthorizer",
    "apis/{}/exports/{}": "ExportApi",
    "domainnames": "GetDomainNames",
    "domainnames/{}/apimappings": "GetApiMappings",
    "domainnames/{}/routingrules": "ListRoutingRules",
}


_PATH_PARAMETER = re.compile(r"\{([^}/+]+)\+?\}")
_HTTP_PATH_PARAMETER = re.compile(r"\{([^}/]+)\}")
_SIGV4_SCHEME = {
    "type": "apiKey",
    "name": "Authorization",
    "in": "header",
    "x-amazon-apigateway-authtype": "awsSigv4",
}
_API_KEY_SCHEME = {"type": "apiKey", "name": "x-api-key", "in": "header"}
_LAMBDA_AUTHORIZER = (
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
    "arn:aws:lambda:us-east-1:123456789012:function:authorizer/invocations"
)


def _authorizer_scheme(authorizer: SimAuthorizer, v1: bool) -> dict[str, Any]:
    """An authorizer as an export's security scheme names it."""
    if authorizer.type == "JWT":
        return {
            "type": "oauth2",
            "flows": {},
            "x-amazon-apigateway-authorizer": {
                "type": "jwt",
                "identitySource": "$request.header.Authorization",
                "jwtConfiguration": {
                    "audience": ["bench"],
                    "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench",
                },
            },
        }
    scheme: dict[str, Any] = {"type": "apiKey", "name": "Authorization", "in": "header"}
    if authorizer.type == "COGNITO_USER_POOLS":
        scheme["x-amazon-apigateway-authtype"] = "cognito_user_pools"
        scheme["x-amazon-apigateway-authorizer"] = {
            "type": "cognito_user_pools",
            "providerARNs": ["arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_b"],
        }
        return scheme
    if v1:
        scheme["x-amazon-apigateway-authtype"] = "custom"
    scheme["x-amazon-apigateway-authorizer"] = {
        "type": authorizer.type.lower(),
        "authorizerUri": _LAMBDA_AUTHORIZER,
        "identitySource": "method.request.header.Authorization"
        if v1
        else "$request.header.Authorization",
        **(
            {"authorizerResultTtlInSeconds": 300}
            if v1
            else {"authorizerPayloadFormatVersion": "2.0"}
        ),
    }
    return scheme


@dataclass(frozen=True)
class _Marked:
    """The counts when `/__mark` was called."""

    calls: Counter[str]
    per_account_region: Counter[tuple[str, str]]
    resources_per_account: Counter[str]
    throttled: int
    throttled_by: Counter[str]


def _busiest(counts: Counter[Any]) -> int:
    busiest = counts.most_common(1)
    return busiest[0][1] if busiest else 0


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def _json(payload: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(payload).encode())


def _rest_error(status: int, error_type: str, message: str) -> Reply:
    return Reply(
        status,
        json.dumps({"message": message}).encode(),
        headers=(("x-amzn-ErrorType", error_type),),
    )


def _sts_error(status: int, code: str, message: str) -> Reply:
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
        f"<Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>bench</RequestId></ErrorResponse>"
    )
    return Reply(status, body.encode(), "text/xml")


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    start = int(token) if token else 0
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


class TokenBucket:
    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, now: float, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = now

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class SimulatedAws:
    """The request handling, independent of the transport."""

    def __init__(
        self,
        organization: SimOrganization,
        quota_rate: float = QUOTA_RATE,
        *,
        resources_quota_rate: float = RESOURCES_QUOTA_RATE,
        no_summary_share: float = NO_SUMMARY_SHARE,
    ) -> None:
        self.org = organization
        self.quota_rate = quota_rate
        self.quota_burst = QUOTA_BURST * quota_rate / QUOTA_RATE
        self.resources_quota_rate = resources_quota_rate
        self.resources_quota_burst = (
            RESOURCES_QUOTA_BURST * resources_quota_rate / RESOURCES_QUOTA_RATE
        )
        self.no_summary_share = no_summary_share
        self.calls: Counter[str] = Counter()
        self.answers: Counter[str] = Counter()  # "operation status" for every non-200 answer
        self.throttled = 0
        self.throttled_by: Counter[str] = Counter()  # which quota said 429
        self.per_account_region: Counter[tuple[str, str]] = Counter()
        self.resources_per_account: Counter[str] = Counter()  # GetResources calls answered
        self.marked: _Marked | None = None
        self.buckets: dict[tuple[str, str], TokenBucket] = {}
        self.resources_buckets: dict[str, TokenBucket] = {}
        self.original = organization
        self.surfaces: dict[str, SimSurface] = {}
        self.deployments: dict[str, dict[str, int]] = {}  # API id: deployment id: created
        self.summaries: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self.by_id: dict[tuple[str, str], dict[str, SimApi]] = defaultdict(dict)
        self.set_organization(organization)
        self.members = {account.account_id for account in organization.accounts}

    def set_organization(self, organization: SimOrganization) -> None:
        """Serve `organization` from now on (the original, or it after `mutate`)."""
        self.org = organization
        self.surfaces.clear()
        self.deployments.clear()
        self.summaries.clear()
        self.by_id = defaultdict(dict)
        for key, apis in organization.apis.items():
            for api in apis:
                self.by_id[key][api.api_id] = api

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = {
            "calls": dict(self.calls),
            "answers": dict(self.answers),
            "throttled": self.throttled,
            "throttled_by": dict(self.throttled_by),
            "busiest_account_region_calls": _busiest(self.per_account_region),
            # GetResources calls of the account that made the most (its own quota is per account).
            "busiest_account_get_resources": _busiest(self.resources_per_account),
            # The endpoint's own CPU (all runs): near 1 s per second means it is the bottleneck.
            "cpu_seconds": time.process_time(),
        }
        if self.marked is not None:
            marked = self.marked
            stats["since_mark"] = {
                "calls": dict(self.calls - marked.calls),
                "throttled": self.throttled - marked.throttled,
                "throttled_by": dict(self.throttled_by - marked.throttled_by),
                "busiest_account_region_calls": _busiest(
                    self.per_account_region - marked.per_account_region
                ),
                "busiest_account_get_resources": _busiest(
                    self.resources_per_account - marked.resources_per_account
                ),
            }
        return stats

    def reset(self) -> None:
        self.calls.clear()
        self.answers.clear()
        self.throttled = 0
        self.throttled_by.clear()
        self.per_account_region.clear()
        self.resources_per_account.clear()
        self.marked = None
        self.buckets.clear()
        self.resources_buckets.clear()

    def mark(self) -> None:
        self.marked = _Marked(
            Counter(self.calls),
            Counter(self.per_account_region),
            Counter(self.resources_per_account),
            self.throttled,
            Counter(self.throttled_by),
        )

    def surface(self, api: SimApi) -> SimSurface:
        surface = self.surfaces.get(api.api_id)
        if surface is None:
            surface = self.surfaces[api.api_id] = surface_of(api)
        return surface

    # ------------------------------------------------------------------ dispatch
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        if target.startswith("/__stats"):
            return _json(self.stats())
        if target.startswith("/__reset"):
            self.reset()
            return _json({})
        if target.startswith("/__mark"):
            self.mark()
            return _json({})
        if target.startswith("/__mutate"):
            # The organization changes (bench.discovery.organization.mutate, of the original).
            asked = parse_qs(urlsplit(target).query)
            seed = int(asked.get("seed", ["7"])[0])
            mutation = mutate(
                self.original,
                seed,
                changed_share=float(asked.get("changed", [str(CHANGED_SHARE)])[0]),
                deleted_share=float(asked.get("deleted", [str(DELETED_SHARE)])[0]),
            )
            self.set_organization(mutation.organization)
            return _json({"changed": len(mutation.changed), "deleted": len(mutation.deleted)})
        if target.startswith("/__restore"):
            self.set_organization(self.original)
            return _json({})
        authorization = headers.get("authorization", "")
        try:
            scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/")
            access_key_id, region, service = scope[0], scope[2], scope[3]
        except IndexError:
            return _rest_error(403, "MissingAuthenticationTokenException", "Missing token")
        account = self._account_of(access_key_id)
        if account is None:
            return _rest_error(403, "UnrecognizedClientException", "The security token is invalid")
        if service == "sts":
            self.calls["sts:" + parse_qs(body.decode()).get("Action", ["?"])[0]] += 1
            return self._sts(account, parse_qs(body.decode()))
        if service == "organizations":
            operation = headers.get("x-amz-target", "").rsplit(".", 1)[-1]
            self.calls["organizations:" + operation] += 1
            return self._organizations(account, operation, json.loads(body or b"{}"))
        if service == "apigateway":
            split = urlsplit(target)
            query = {k: ",".join(v) for k, v in parse_qs(split.query).items()}
            path = [unquote(part) for part in split.path.strip("/").split("/")]
            v2 = path[0] == "v2"
            if v2:
                path = path[1:]
            template = "/".join(part if i % 2 == 0 else "{}" for i, part in enumerate(path))
            operations = V2_OPERATIONS if v2 else V1_OPERATIONS
            operation = ("apigatewayv2:" if v2 else "apigateway:") + operations.get(
                template, template
            )
            now = time.monotonic()
            key = (account, region)
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = TokenBucket(now, self.quota_rate, self.quota_burst)
            if not bucket.take(now):
                self.throttled += 1
                self.throttled_by["account-region"] += 1
                return _rest_error(429, "TooManyRequestsException", "Too Many Requests")
            if operation == "apigateway:GetResources":
                resources = self.resources_buckets.get(account)
                if resources is None:
                    resources = self.resources_buckets[account] = TokenBucket(
                        now, self.resources_quota_rate, self.resources_quota_burst
                    )
                if not resources.take(now):
                    self.throttled += 1
                    self.throttled_by["GetResources per account"] += 1
                    return _rest_error(429, "TooManyRequestsException", "Too Many Requests")
                self.resources_per_account[account] += 1
            self.per_account_region[key] += 1
            self.calls[operation] += 1
            reply = self._apigateway(account, region, path, query, v2)
            if reply.status != 200:
                self.answers[f"{operation} {reply.status}"] += 1
            return reply
        return _rest_error(400, "UnknownOperationException", f"unknown service {service}")

    @staticmethod
    def _account_of(access_key_id: str) -> str | None:
        if access_key_id == PLATFORM_ACCESS_KEY_ID:
            return PLATFORM_ACCOUNT_ID
        if access_key_id.startswith("ASIA") and access_key_id[4:16].isdigit():
            return access_key_id[4:16]
        return None

    # ------------------------------------------------------------------ STS
    def _sts(self, caller: str, params: dict[str, list[str]]) -> Reply:
        action = params.get("Action", [""])[0]
        if action == "GetCallerIdentity":
            body = (
                "<GetCallerIdentityResponse><GetCallerIdentityResult>"
                f"<Arn>arn:aws:iam::{caller}:user/bench</Arn><UserId>AIDABENCH</UserId>"
                f"<Account>{caller}</Account></GetCallerIdentityResult>"
                "</GetCallerIdentityResponse>"
            )
            return Reply(200, body.encode(), "text/xml")
        if action != "AssumeRole":
            return _sts_error(400, "InvalidAction", f"{action} is not simulated")
        role_arn = params.get("RoleArn", [""])[0]
        session_name = params.get("RoleSessionName", ["bench"])[0]
        target_account, _, role_path = role_arn.split(":", 4)[4].partition(":role/")
        allowed = (
            caller == PLATFORM_ACCOUNT_ID
            and target_account == self.org.central_account_id
            and role_path == CENTRAL_ROLE_NAME
        ) or (
            caller == self.org.central_account_id
            and role_path == CHILD_ROLE_NAME
            and target_account in self.members
            and target_account != self.org.management_account_id
            and target_account not in self.org.denied_accounts
        )
        if not allowed:
            return _sts_error(
                403,
                "AccessDenied",
                f"User: arn:aws:sts::{caller}:assumed-role/x/{session_name} is not authorized "
                f"to perform: sts:AssumeRole on resource: {role_arn}",
            )
        suffix = os.urandom(2).hex().upper()
        expiration = datetime.fromtimestamp(time.time() + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = (
            '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<AssumeRoleResult><Credentials>"
            f"<AccessKeyId>ASIA{target_account}{suffix}</AccessKeyId>"
            "<SecretAccessKey>simulatedsecretsimulatedsecretsimulated00</SecretAccessKey>"
            f"<SessionToken>FwoGZXIvYXdzE{'x' * 300}</SessionToken>"
            f"<Expiration>{expiration}</Expiration></Credentials>"
            f"<AssumedRoleUser><AssumedRoleId>AROABENCH:{session_name}</AssumedRoleId>"
            f"<Arn>arn:aws:sts::{target_account}:assumed-role/{role_path}/{session_name}</Arn>"
            "</AssumedRoleUser></AssumeRoleResult>"
            "<ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata>"
            "</AssumeRoleResponse>"
        )
        return Reply(200, body.encode(), "text/xml")

    # ------------------------------------------------------------------ Organizations
    def _organizations(self, caller: str, operation: str, request: dict[str, Any]) -> Reply:
        management = self.org.management_account_id
        if operation == "DescribeOrganization":
            # Any account of the organization may read it.
            if caller not in self.members:
                return _rest_error(
                    400,
                    "AWSOrganizationsNotInUseException",
                    "Your account is not a member of an organization.",
                )
            return _json(
                {
                    "Organization": {
                        "Id": ORGANIZATION_ID,
                        "Arn": f"arn:aws:organizations::{management}:organization/"
                        f"{ORGANIZATION_ID}",
                        "FeatureSet": "ALL",
                        "MasterAccountArn": f"arn:aws:organizations::{management}:account/"
                        f"{ORGANIZATION_ID}/{management}",
                        "MasterAccountId": management,
                        "MasterAccountEmail": "management@example.com",
                        "AvailablePolicyTypes": [
                            {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}
                        ],
                    }
                }
            )
        if operation != "ListAccounts":
            return _rest_error(400, "InvalidInputException", f"{operation} is not simulated")
        # The management account, or a delegated administrator of the organization.
        if caller not in {management, self.org.central_account_id}:
            return _rest_error(
                403,
                "AccessDeniedException",
                "You don't have permissions to access this resource.",
            )
        size = min(int(request.get("MaxResults", LIST_ACCOUNTS_PAGE)), LIST_ACCOUNTS_PAGE)
        accounts, token = _page(self.org.accounts, request.get("NextToken"), size)
        payload: dict[str, Any] = {
            "Accounts": [
                {
                    "Id": a.account_id,
                    "Arn": f"arn:aws:organizations::{management}:account/"
                    f"{ORGANIZATION_ID}/{a.account_id}",
                    "Email": f"{a.name}@example.com",
                    "Name": a.name,
                    "Status": a.status,
                    "State": a.status,
                    "JoinedMethod": "CREATED",
                    "JoinedTimestamp": 1_700_000_000,
                }
                for a in accounts
            ]
        }
        if token:
            payload["NextToken"] = token
        return _json(payload)

    # ------------------------------------------------------------------ API Gateway
    def _apis(self, account: str, region: str, *protocols: str) -> list[SimApi]:
        return [a for a in self.org.apis.get((account, region), []) if a.protocol in protocols]

    def _apigateway(
        self, account: str, region: str, path: list[str], query: dict[str, str], v2: bool
    ) -> Reply:
        if not v2:
            size = min(int(query.get("limit", 25)), APIGATEWAY_MAX_PAGE)
            token = query.get("position")
        else:
            size = min(int(query.get("maxResults", 100)), APIGATEWAY_MAX_PAGE)
            token = query.get("nextToken")
        if path == ["restapis"]:
            items, token = _page(self._apis(account, region, "REST"), token, size)
            return self._v1_page([self._rest_api(api) for api in items], token)
        if path == ["apis"] and v2:
            items, token = _page(self._apis(account, region, "HTTP", "WEBSOCKET"), token, size)
            return self._v2_page([self._v2_api(api, region) for api in items], token)
        if len(path) == 3 and path[0] in {"restapis", "apis"} and path[2] == "stages":
            api = self.by_id[(account, region)].get(path[1])
            if api is None:
                return _rest_error(404, "NotFoundException", "Invalid API identifier specified")
            if v2:
                stages, token = _page(list(api.stages), token, size)
                return self._v2_page([self._v2_stage(s) for s in stages], token)
            return _json({"item": [self._v1_stage(s, account, region) for s in api.stages]})
        if path == ["domainnames"]:
            domains = [
                d
                for d in self.org.domains.get((account, region), [])
                if (d.listed_by_v2 if v2 else d.listed_by_v1)
            ]
            items, token = _page(domains, token, size)
            if v2:
                return self._v2_page([self._v2_domain(d, region) for d in items], token)
            return self._v1_page([self._v1_domain(d, account, region) for d in items], token)
        if len(path) == 3 and path[0] == "domainnames":
            return self._domain_part(account, region, path[1], path[2], query, v2, token)
        if len(path) >= 2 and path[0] in {"restapis", "apis"}:
            return self._one_api(account, region, path, query, v2, size, token)
        return _rest_error(404, "NotFoundException", f"{'/'.join(path)} is not simulated")

    # ------------------------------------------------------------------ custom domains
    def _domain_part(
        self,
        account: str,
        region: str,
        name: str,
        part: str,
        query: dict[str, str],
        v2: bool,
        token: str | None,
    ) -> Reply:
        """GetBasePathMappings (v1), GetApiMappings and ListRoutingRules (v2) of one domain.
        A private domain is known by its name and id together: without the id, 404."""
        domain_id = query.get("domainNameId")
        domain = next(
            (
                d
                for d in self.org.domains.get((account, region), [])
                if d.domain_name == name and d.domain_name_id == domain_id
            ),
            None,
        )
        if domain is None or (v2 and part == "apimappings" and not domain.listed_by_v2):
            return _rest_error(404, "NotFoundException", "Invalid domain name identifier specified")
        if v2 and part == "apimappings":
            return self._v2_page(
                [
                    {
                        "apiId": m.api_id,
                        "apiMappingId": "map" + m.api_id[:4],
                        "apiMappingKey": m.base_path,
                        **({"stage": m.stage} if m.stage else {}),
                    }
                    for m in domain.mappings
                ],
                None,
            )
        if not v2 and part == "basepathmappings":
            return self._v1_page(
                [
                    {
                        "basePath": m.base_path or "(none)",
                        "restApiId": m.api_id,
                        **({"stage": m.stage} if m.stage else {}),
                    }
                    for m in domain.mappings
                ],
                None,
            )
        if v2 and part == "routingrules":
            size = min(int(query.get("maxResults", 25)), ROUTING_RULES_MAX_PAGE)
            rules, token = _page(list(domain.rules), token, size)
            payload: dict[str, Any] = {
                "routingRules": [self._rule(domain, rule, account, region) for rule in rules]
            }
            if token:
                payload["nextToken"] = token
            return _json(payload)
        return _rest_error(404, "NotFoundException", f"domainnames/{name}/{part} is not simulated")

    @staticmethod
    def _domain_arn(domain: SimDomain, account: str, region: str) -> str:
        suffix = f"+{domain.domain_name_id}" if domain.domain_name_id else ""
        return f"arn:aws:apigateway:{region}:{account}:/domainnames/{domain.domain_name}{suffix}"

    @classmethod
    def _v1_domain(cls, domain: SimDomain, account: str, region: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "domainName": domain.domain_name,
            "domainNameArn": cls._domain_arn(domain, account, region),
            "certificateArn": f"arn:aws:acm:{region}:{account}:certificate/bench",
            "domainNameStatus": "AVAILABLE",
            "securityPolicy": "TLS_1_2",
            "routingMode": domain.routing_mode,
        }
        if domain.private:
            item["domainNameId"] = domain.domain_name_id
            item["endpointConfiguration"] = {"types": ["PRIVATE"], "ipAddressType": "dualstack"}
            item["endpointAccessMode"] = "STRICT"
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "execute-api:Invoke",
                        "Resource": "execute-api:/*",
                    }
                ],
            }
            item["policy"] = json.dumps(policy, separators=(",", ":")).replace('"', '\\"')
        else:
            item["regionalDomainName"] = f"d-bench.execute-api.{region}.amazonaws.com"
            item["regionalHostedZoneId"] = "Z1UJRXOUMOOFQ8"
            item["endpointConfiguration"] = {"types": ["REGIONAL"], "ipAddressType": "ipv4"}
        return item

    @staticmethod
    def _v2_domain(domain: SimDomain, region: str) -> dict[str, Any]:
        return {
            "domainName": domain.domain_name,
            "apiMappingSelectionExpression": "$request.basepath",
            "domainNameConfigurations": [
                {
                    "endpointType": "REGIONAL",
                    "apiGatewayDomainName": f"d-bench.execute-api.{region}.amazonaws.com",
                    "domainNameStatus": "AVAILABLE",
                    "securityPolicy": "TLS_1_2",
                }
            ],
            "routingMode": V2_ROUTING_MODES[domain.routing_mode],
        }

    @classmethod
    def _rule(cls, domain: SimDomain, rule: SimRule, account: str, region: str) -> dict[str, Any]:
        """A routing rule as ListRoutingRules answers it: up to two header conditions and one
        base path condition, one action."""
        conditions: list[dict[str, Any]] = []
        if rule.base_path:
            conditions.append({"matchBasePaths": {"anyOf": [rule.base_path]}})
        conditions.extend(
            {"matchHeaders": {"anyOf": [{"header": header, "valueGlob": glob}]}}
            for header, glob in rule.headers
        )
        return {
            "actions": [
                {
                    "invokeApi": {
                        "apiId": rule.api_id,
                        "stage": rule.stage,
                        "stripBasePath": rule.strip_base_path,
                    }
                }
            ],
            "conditions": conditions,
            "priority": rule.priority,
            "routingRuleArn": f"{cls._domain_arn(domain, account, region)}/routingrules/"
            f"{rule.rule_id}",
            "routingRuleId": rule.rule_id,
        }

    # ------------------------------------------------------------------ one API (onboarding)
    def _one_api(
        self,
        account: str,
        region: str,
        path: list[str],
        query: dict[str, str],
        v2: bool,
        size: int,
        token: str | None,
    ) -> Reply:
        api = self.by_id[(account, region)].get(path[1])
        # REST and HTTP/WebSocket ids share one format: each API family knows only its own.
        if api is None or (api.protocol == "REST") == v2:
            kind = "API" if v2 else "REST API"
            return _rest_error(404, "NotFoundException", f"Invalid {kind} identifier specified")
        surface = self.surface(api)
        rest = path[2:]
        if not rest:
            return _json(self._v2_api(api, region) if v2 else self._rest_api(api))
        if not v2 and rest[:1] == ["deployments"] and len(rest) <= 2:
            embed = "apisummary" in query.get("embed", "").split(",")
            created = self._deployments(api)
            if len(rest) == 1:
                items, token = _page(list(created), token, size)
                return self._v1_page([self._deployment(api, d, embed) for d in items], token)
            if rest[1] not in created:
                return _rest_error(
                    404, "NotFoundException", "Invalid Deployment identifier specified"
                )
            return _json(self._deployment(api, rest[1], embed))
        if not v2 and rest == ["resources"]:
            embed = "methods" in query.get("embed", "").split(",")
            items, token = _page(list(surface.resources), token, size)
            return self._v1_page([self._v1_resource(r, embed) for r in items], token)
        if not v2 and len(rest) == 4 and rest[0] == "resources" and rest[2] == "methods":
            resource = next((r for r in surface.resources if r.resource_id == rest[1]), None)
            method = next(
                (m for m in (resource.methods if resource else ()) if m.http_method == rest[3]),
                None,
            )
            if method is None:
                return _rest_error(404, "NotFoundException", "Invalid Method identifier specified")
            return _json(self._v1_method(method))
        if rest == ["authorizers"]:
            items, token = _page(list(surface.authorizers), token, size)
            if v2:
                return self._v2_page([self._v2_authorizer(a) for a in items], token)
            return self._v1_page([self._v1_authorizer(api, a) for a in items], token)
        if v2 and len(rest) == 2 and rest[0] == "authorizers":
            authorizer = next((a for a in surface.authorizers if a.authorizer_id == rest[1]), None)
            if authorizer is None:
                return _rest_error(404, "NotFoundException", "Invalid Authorizer identifier")
            return _json(self._v2_authorizer(authorizer))
        if v2 and rest == ["routes"]:
            routes, token = _page(list(surface.routes), token, size)
            return self._v2_page(
                [
                    {
                        "routeId": route.route_id,
                        "routeKey": route.route_key,
                        "authorizationType": route.authorization,
                        "apiKeyRequired": route.api_key_required,
                        "target": "integrations/" + route.route_id,
                        **({"authorizerId": route.authorizer_id} if route.authorizer_id else {}),
                    }
                    for route in routes
                ],
                token,
            )
        # GetExport: stages/{stage}/exports/{type}; ExportApi: exports/{specification}?stageName=
        if not v2 and len(rest) == 4 and rest[0] == "stages" and rest[2] == "exports":
            return self._exported(api, region, rest[1], rest[3], surface)
        if v2 and len(rest) == 2 and rest[0] == "exports":
            if query.get("outputType", "JSON") != "JSON":
                return _rest_error(400, "BadRequestException", "Only JSON is simulated")
            return self._exported(api, region, query.get("stageName", ""), rest[1], surface)
        return _rest_error(404, "NotFoundException", f"{'/'.join(path)} is not simulated")

    def _exported(
        self, api: SimApi, region: str, stage: str, specification: str, surface: SimSurface
    ) -> Reply:
        if api.protocol == "WEBSOCKET":
            return _rest_error(400, "BadRequestException", "WebSocket APIs cannot be exported")
        if specification.lower() != "oas30":
            return _rest_error(400, "BadRequestException", f"{specification} is not simulated")
        found = next((s for s in api.stages if s.name == stage), None)
        if found is None:
            return _rest_error(404, "NotFoundException", "Invalid stage identifier specified")
        methods = None
        if api.protocol == "REST":
            # A stage's export is its deployment's API, which may be behind the draft.
            methods = deployed_methods(api, surface, found.deployment_id)
        else:
            surface = replace(
                surface, routes=tuple(deployed_routes(api, surface, found.deployment_id))
            )
        return Reply(200, self._export(api, region, stage, surface, methods))

    def _deployments(self, api: SimApi) -> dict[str, int]:
        """The deployments the API's stages serve (canaries too), with when each was made."""
        created = self.deployments.get(api.api_id)
        if created is None:
            created = {}
            for stage in api.stages:
                created.setdefault(stage.deployment_id, stage.updated - 600)
                if stage.canary_deployment_id:
                    created.setdefault(stage.canary_deployment_id, stage.updated + 3600)
            assert list(created) == deployment_ids(api)
            self.deployments[api.api_id] = created
        return created

    def _deployment(self, api: SimApi, deployment_id: str, embed: bool) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": deployment_id,
            "description": f"Deployment {deployment_id} of {api.name}",
            "createdDate": self._deployments(api)[deployment_id],
        }
        if embed and has_api_summary(api, self.no_summary_share):
            key = (api.api_id, deployment_id)
            summary = self.summaries.get(key)
            if summary is None:
                summary = {}
                for path, method in deployed_methods(api, self.surface(api), deployment_id):
                    summary.setdefault(path, {})[method.http_method] = {
                        "authorizationType": method.authorization,
                        "apiKeyRequired": method.api_key_required,
                    }
                self.summaries[key] = summary
            answer["apiSummary"] = summary
        return answer

    @staticmethod
    def _v1_method(method: SimMethod) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "httpMethod": method.http_method,
            "authorizationType": method.authorization,
            "apiKeyRequired": method.api_key_required,
            "methodResponses": {"200": {"statusCode": "200"}},
            "methodIntegration": {
                "type": "AWS_PROXY",
                "httpMethod": "POST",
                "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/bench",
                "passthroughBehavior": "WHEN_NO_MATCH",
                "timeoutInMillis": 29000,
            },
        }
        if method.authorizer_id:
            answer["authorizerId"] = method.authorizer_id
        return answer

    @classmethod
    def _v1_resource(cls, resource: SimResource, embed: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"id": resource.resource_id, "path": resource.path}
        if resource.parent_id:
            item["parentId"] = resource.parent_id
            item["pathPart"] = resource.path_part
        if resource.methods:
            # Without embed=methods AWS names the methods only (as empty objects).
            item["resourceMethods"] = {
                m.http_method: cls._v1_method(m) if embed else {} for m in resource.methods
            }
        return item

    @staticmethod
    def _v1_authorizer(api: SimApi, authorizer: SimAuthorizer) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": authorizer.authorizer_id,
            "name": authorizer.name,
            "type": authorizer.type,
            "identitySource": "method.request.header.Authorization",
            "authorizerResultTtlInSeconds": 300,
        }
        if authorizer.type == "COGNITO_USER_POOLS":
            item["providerARNs"] = [
                f"arn:aws:cognito-idp:us-east-1:{api.api_id[:6]}:userpool/us-east-1_bench"
            ]
        else:
            item["authType"] = "custom"
            item["authorizerUri"] = (
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/authorizer"
            )
        return item

    @staticmethod
    def _v2_authorizer(authorizer: SimAuthorizer) -> dict[str, Any]:
        item: dict[str, Any] = {
            "authorizerId": authorizer.authorizer_id,
            "authorizerType": authorizer.type,
            "name": authorizer.name,
            "identitySource": ["$request.header.Authorization"],
        }
        if authorizer.type == "JWT":
            item["jwtConfiguration"] = {
                "audience": ["bench"],
                "issuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_bench",
            }
        else:
            item["authorizerUri"] = (
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/authorizer"
            )
            item["authorizerPayloadFormatVersion"] = "2.0"
        return item

    @staticmethod
    def _export(
        api: SimApi,
        region: str,
        stage: str,
        surface: SimSurface,
        methods: list[tuple[str, SimMethod]] | None = None,
    ) -> bytes:
        """An OpenAPI 3 document of the API's operations as an export with the API Gateway
        extensions has them: path parameters, integrations, and security requirements with
        their schemes (authorizers, SigV4, the API key). REST: of `methods`, a deployment's,
        when given; HTTP: of the routes, the $default route as the path /$default."""
        authorizers = {a.authorizer_id: a for a in surface.authorizers}
        if methods is None:
            methods = [(r.path, m) for r in surface.resources for m in r.methods]
        operations: list[tuple[str, str, str, str | None, bool]] = [
            (m.http_method, path, m.authorization, m.authorizer_id, m.api_key_required)
            for path, m in methods
        ]
        for route in surface.routes:
            method, _, route_path = route.route_key.partition(" ")
            method, route_path = ("ANY", "/$default") if not route_path else (method, route_path)
            operations.append(
                (
                    method,
                    route_path,
                    route.authorization,
                    route.authorizer_id,
                    route.api_key_required,
                )
            )
        paths: dict[str, dict[str, Any]] = {}
        schemes: dict[str, Any] = {}
        for method, operation_path, authorization, authorizer_id, api_key in operations:
            key = "x-amazon-apigateway-any-method" if method == "ANY" else method.lower()
            operation: dict[str, Any] = {
                "responses": {"200": {"description": "200 response"}},
                "x-amazon-apigateway-integration": {
                    "type": "aws_proxy",
                    "httpMethod": "POST",
                    "uri": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/bench",
                    "passthroughBehavior": "when_no_match",
                },
            }
            # REST exports name a greedy parameter without its "+" ({proxy+} is "proxy"), which
            # OpenAPI validators refuse; HTTP API exports keep it ("proxy+").
            parameters = _PATH_PARAMETER.findall(operation_path)
            if parameters and api.protocol == "REST":
                operation["parameters"] = [
                    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                    for name in parameters
                ]
            elif parameters:
                operation["parameters"] = [
                    {
                        "name": name,
                        "in": "path",
                        "description": f"Generated path parameter for {name}",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                    for name in _HTTP_PATH_PARAMETER.findall(operation_path)
                ]
            requirement: dict[str, list[str]] = {}
            authorizer = authorizers.get(authorizer_id or "")
            if authorization == "AWS_IAM":
                requirement["sigv4"] = []
                schemes["sigv4"] = _SIGV4_SCHEME
            elif authorizer is not None:
                requirement[authorizer.name] = []
                schemes[authorizer.name] = _authorizer_scheme(authorizer, api.protocol == "REST")
            if api_key:
                requirement["api_key"] = []
                schemes["api_key"] = _API_KEY_SCHEME
            if requirement:
                operation["security"] = [requirement]
            paths.setdefault(operation_path, {})[key] = operation
        base = f"https://{api.api_id}.execute-api.{region}.amazonaws.com"
        document = {
            "openapi": "3.0.1",
            "info": {"title": api.name, "version": _iso(api.created)},
            "servers": [{"url": base if stage == "$default" else f"{base}/{stage}"}],
            "paths": paths,
            "components": {"securitySchemes": schemes} if schemes else {},
        }
        return json.dumps(document).encode()

    @staticmethod
    def _v1_page(items: list[Any], position: str | None) -> Reply:
        payload: dict[str, Any] = {"item": items}
        if position:
            payload["position"] = position
        return _json(payload)

    @staticmethod
    def _v2_page(items: list[Any], token: str | None) -> Reply:
        payload: dict[str, Any] = {"items": items}
        if token:
            payload["nextToken"] = token
        return _json(payload)

    @staticmethod
    def _rest_api(api: SimApi) -> dict[str, Any]:
        configuration: dict[str, Any] = {"types": [api.endpoint_type]}
        if api.vpc_endpoint_ids:
            configuration["vpcEndpointIds"] = list(api.vpc_endpoint_ids)
        extra: dict[str, Any] = {}
        policy = resource_policy(api)
        if policy is not None:
            # AWS answers the policy as JSON text with its quotes escaped, inside the JSON.
            extra["policy"] = json.dumps(policy, separators=(",", ":")).replace('"', '\\"')
        return {
            **extra,
            "id": api.api_id,
            "name": api.name,
            "description": f"The {api.name} of the benchmark organization.",
            "createdDate": api.created,
            "version": "1.0",
            "apiKeySource": "HEADER",
            "endpointConfiguration": configuration,
            "tags": dict(api.tags),
            "disableExecuteApiEndpoint": False,
            "rootResourceId": api.api_id[:6],
        }

    @staticmethod
    def _v2_api(api: SimApi, region: str) -> dict[str, Any]:
        scheme = "wss" if api.protocol == "WEBSOCKET" else "https"
        selection = (
            "$request.body.action"
            if api.protocol == "WEBSOCKET"
            else "${request.method} ${request.path}"
        )
        return {
            "apiEndpoint": f"{scheme}://{api.api_id}.execute-api.{region}.amazonaws.com",
            "apiId": api.api_id,
            "apiKeySelectionExpression": "$request.header.x-api-key",
            "createdDate": _iso(api.created),
            "description": f"The {api.name} of the benchmark organization.",
            "disableExecuteApiEndpoint": False,
            "name": api.name,
            "protocolType": api.protocol,
            "routeSelectionExpression": selection,
            "tags": dict(api.tags),
        }

    @staticmethod
    def _v1_stage(stage: SimStage, account: str, region: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "deploymentId": stage.deployment_id,
            "stageName": stage.name,
            "cacheClusterEnabled": False,
            "cacheClusterStatus": "NOT_AVAILABLE",
            "methodSettings": {},
            "tracingEnabled": False,
            "createdDate": stage.created,
            "lastUpdatedDate": stage.updated,
        }
        if stage.canary_deployment_id:
            item["canarySettings"] = {
                "deploymentId": stage.canary_deployment_id,
                "percentTraffic": stage.canary_percent,
                "stageVariableOverrides": {},
                "useStageCache": False,
            }
        if stage.web_acl_id:
            item["webAclArn"] = (
                f"arn:aws:wafv2:{region}:{account}:regional/webacl/bench-{stage.name}/"
                f"{stage.web_acl_id}"
            )
        return item

    @staticmethod
    def _v2_stage(stage: Any) -> dict[str, Any]:
        return {
            "stageName": stage.name,
            "deploymentId": stage.deployment_id,
            "autoDeploy": stage.name == "$default",
            "createdDate": _iso(stage.created),
            "lastUpdatedDate": _iso(stage.updated),
            "defaultRouteSettings": {"DetailedMetricsEnabled": False},
            "routeSettings": {},
            "stageVariables": {},
            "tags": {},
        }


_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
}


class _HttpProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, one request at a time per connection (as urllib3 sends)."""

    def __init__(self, app: SimulatedAws, latency: float) -> None:
        self.app = app
        self.latency = latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1").split("\r\n")
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4 : head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length :]
            method, target, _ = head[0].split(" ", 2)
            reply = self.app.handle(method, target, headers, body)
            if self.latency > 0 and not target.startswith("/__"):
                asyncio.get_running_loop().call_later(self.latency, self._send, reply)
            else:
                self._send(reply)

    def _send(self, reply: Reply) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        lines = [
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Error')}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(reply.body)}",
            "x-amzn-RequestId: 00000000-0000-0000-0000-000000000000",
            *(f"{name}: {value}" for name, value in reply.headers),
        ]
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode() + reply.body)


def serve(
    organization_args: dict[str, Any],
    latency: float,
    quota_rate: float = QUOTA_RATE,
    host: str = "127.0.0.1",
    *,
    resources_quota_rate: float = RESOURCES_QUOTA_RATE,
    no_summary_share: float = NO_SUMMARY_SHARE,
) -> None:
    """Run the endpoint until SIGTERM; prints the bound port on the first line of stdout."""

    async def main() -> None:
        app = SimulatedAws(
            build_organization(**organization_args),
            quota_rate,
            resources_quota_rate=resources_quota_rate,
            no_summary_share=no_summary_share,
        )
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _HttpProtocol(app, latency), host, 0, backlog=4096
        )
        print(server.sockets[0].getsockname()[1], flush=True)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        # The parent holds our stdin open: when it dies, however it dies, we stop too.
        loop.add_reader(sys.stdin.fileno(), stop.set)
        await stop.wait()
        server.close()

    asyncio.run(main())


class SimulatedEndpoint:
    """The endpoint in a child process; `url` is what AWS_ENDPOINT_URL should say."""

    def __init__(
        self,
        *,
        latency: float = 0.05,
        accounts: int = 200,
        regions: int = 17,
        seed: int = 7,
        denied_accounts: int = 0,
        delegated_admin: bool = False,
        quota_rate: float = QUOTA_RATE,
        resources_quota_rate: float = RESOURCES_QUOTA_RATE,
        no_summary_share: float = NO_SUMMARY_SHARE,
    ) -> None:
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "PYTHONPATH": str(root)}
        command = [
            sys.executable,
            "-m",
            "bench.discovery.simulated_aws",
            f"--latency={latency}",
            f"--accounts={accounts}",
            f"--regions={regions}",
            f"--seed={seed}",
            f"--denied-accounts={denied_accounts}",
            f"--quota-rate={quota_rate}",
            f"--resources-quota-rate={resources_quota_rate}",
            f"--no-summary-share={no_summary_share}",
            *(["--delegated-admin"] if delegated_admin else []),
        ]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.isdigit():
            self.process.kill()
            raise RuntimeError("the simulated AWS endpoint did not start")
        self.port = int(line)
        self.url = f"http://127.0.0.1:{self.port}"

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = self._get("/__stats")
        return stats

    def reset(self) -> None:
        self._get("/__reset")

    def mark(self) -> None:
        """From now on `stats()["since_mark"]` counts calls beside the totals."""
        self._get("/__mark")

    def mutate(
        self,
        seed: int,
        *,
        changed_share: float = CHANGED_SHARE,
        deleted_share: float = DELETED_SHARE,
    ) -> dict[str, int]:
        """The organization changes as `organization.mutate(original, seed, ...)` says."""
        changed: dict[str, int] = self._get(
            f"/__mutate?seed={seed}&changed={changed_share}&deleted={deleted_share}"
        )
        return changed

    def restore(self) -> None:
        """The organization as it was built."""
        self._get("/__restore")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def __enter__(self) -> SimulatedEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--denied-accounts", type=int, default=0)
    parser.add_argument(
        "--delegated-admin",
        action="store_true",
        help="the central role in a delegated administrator's account, not the management's",
    )
    parser.add_argument(
        "--quota-rate", type=float, default=QUOTA_RATE, help="requests/s per account-region"
    )
    parser.add_argument(
        "--resources-quota-rate",
        type=float,
        default=RESOURCES_QUOTA_RATE,
        help="GetResources requests/s per account (burst twice that)",
    )
    parser.add_argument(
        "--no-summary-share",
        type=float,
        default=NO_SUMMARY_SHARE,
        help="share of REST APIs whose GetDeployment has no apiSummary",
    )
    args = parser.parse_args()
    serve(
        {
            "accounts": args.accounts,
            "regions": args.regions,
            "seed": args.seed,
            "denied_accounts": args.denied_accounts,
            "delegated_admin": args.delegated_admin,
        },
        args.latency,
        args.quota_rate,
        resources_quota_rate=args.resources_quota_rate,
        no_summary_share=args.no_summary_share,
    )


if __name__ == "__main__":
    main()
