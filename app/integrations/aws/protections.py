"""What stands between a caller and a stage besides its authorizers, as AWS holds it.

- The REST API's resource policy: none, one that restricts who may call (by source VPC, VPC
  endpoint, IP range, account or organization, or named principals), or one that lets anyone
  in. HTTP and WebSocket APIs have no resource policy.
- The stage's WAF web ACL (REST stages only: `webAclArn`).
- Mutual TLS: a custom domain with a trust store asks callers for a client certificate. A
  stage is behind mutual TLS only if every way to it is: its execute-api endpoint disabled and
  every custom domain mapped to it requiring a certificate.
- Where it is reachable from: a private API answers only inside the customer's VPCs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from app.integrations.aws.apigateway import DiscoveredApi

NONE = "none"
RESTRICTS_CALLERS = "restricts_callers"
ALLOWS_ANYONE = "allows_anyone"

# Condition keys that narrow who the caller is or where the call comes from.
_RESTRICTING_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceIp",
        "aws:VpcSourceIp",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOrgID",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:userid",
        "aws:username",
    )
)


@dataclass(frozen=True)
class Protections:
    stage: str | None
    resource_policy: str  # none | restricts_callers | allows_anyone
    waf_web_acl: bool
    mutual_tls: bool
    reachable_from: str  # internet | vpc_only

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _policy_document(policy: str) -> dict[str, Any] | None:
    """The policy as a dict. AWS answers it as JSON text with its quotes escaped
    (`{\\"Version\\":...}`); both forms are read."""
    for text in (policy, policy.replace('\\"', '"').replace("\\\\", "\\")):
        try:
            document = json.loads(text)
        except ValueError:
            continue
        if isinstance(document, str):  # JSON text inside a JSON string
            try:
                document = json.loads(document)
            except ValueError:
                continue
        if isinstance(document, dict):
            return document
    return None


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any("*" in _listed(value) for value in principal.values())
    return False


def _restricting(condition: Any) -> bool:
    if not isinstance(condition, dict):
        return False
    return any(
        isinstance(keys, dict) and any(str(key).lower() in _RESTRICTING_KEYS for key in keys)
        for keys in condition.values()
    )


def _invokes(statement: dict[str, Any]) -> bool:
    actions = [str(action).lower() for action in _listed(statement.get("Action"))]
    if not actions:  # NotAction: it covers invoke unless it names it
        not_actions = [str(action).lower() for action in _listed(statement.get("NotAction"))]
        return not any(a in {"execute-api:invoke", "execute-api:*", "*"} for a in not_actions)
    return any(action in {"execute-api:invoke", "execute-api:*", "*"} for action in actions)


def classify_resource_policy(policy: str | None) -> str:
    """none, restricts_callers or allows_anyone.

    It allows anyone when a statement allows invoking to every principal with no condition on
    who or where the caller is, and no deny narrows that. An unreadable policy is taken as
    restricting: API Gateway refuses to store a malformed one, so it is our reading that
    failed, and claiming "anyone" would be a guess.
    """
    if not policy or not policy.strip():
        return NONE
    document = _policy_document(policy)
    if document is None:
        return RESTRICTS_CALLERS
    statements = [s for s in _listed(document.get("Statement")) if isinstance(s, dict)]
    if not statements:
        return NONE
    open_allow = any(
        statement.get("Effect") == "Allow"
        and _invokes(statement)
        and _anyone(statement.get("Principal"))
        and not _restricting(statement.get("Condition"))
        for statement in statements
    )
    # A deny that lets through only callers from somewhere (a VPC endpoint, an IP range) is
    # the usual way to restrict; one that blocks named principals leaves everyone else in.
    narrowing_deny = any(
        statement.get("Effect") == "Deny"
        and _invokes(statement)
        and (_restricting(statement.get("Condition")) or _anyone(statement.get("Principal")))
        for statement in statements
    )
    return ALLOWS_ANYONE if open_allow and not narrowing_deny else RESTRICTS_CALLERS


def stage_protections(api: DiscoveredApi, stage_name: str | None) -> Protections:
    stage = next((s for s in api.stages if s.name == stage_name), None)
    domains = [domain for domain in api.custom_domains if domain.stage == stage_name]
    mutual_tls = (
        api.execute_api_endpoint_disabled
        and bool(domains)
        and all(domain.mutual_tls for domain in domains)
    )
    return Protections(
        stage=stage_name,
        resource_policy=classify_resource_policy(api.policy) if api.protocol == "REST" else NONE,
        waf_web_acl=bool(stage and stage.web_acl_arn),
        mutual_tls=mutual_tls,
        reachable_from=api.reachable_from,
    )


def instance_mutual_tls(api: DiscoveredApi, url: str) -> bool:
    """Whether this URL asks for a client certificate (it is on a domain with a trust store)."""
    return any(domain.url == url and domain.mutual_tls for domain in api.custom_domains)
