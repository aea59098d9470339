"""Trust policies for the demo's simulated AWS.

moto assumes any role, even one that does not exist or does not trust the caller; real AWS
refuses such an AssumeRole with AccessDenied. The demo turns that check on (after seeding) so
that a person trying it sees the service's real answers to a role that refuses: the same
request, the same error AWS sends, the same mapping to `role_not_assumable` and its hint.

What is checked is what the demo's roles use: an `Allow` statement for `sts:AssumeRole` whose
`Principal.AWS` names the caller (its ARN, its role's ARN for an assumed role, its account's
root or its account id), with an optional `StringEquals` condition on `sts:ExternalId`. This
module is only ever imported by the demo, never on the service's own path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

_ASSUMED_ROLE = re.compile(r"^arn:([\w-]+):sts::(\d{12}):assumed-role/([^/]+)/.+$")
_ACCOUNT = re.compile(r"^arn:[\w-]+:(?:iam|sts)::(\d{12}):")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def caller_principals(caller_arn: str) -> set[str]:
    """Every way a trust policy can name this caller."""
    names = {caller_arn}
    assumed = _ASSUMED_ROLE.match(caller_arn)
    if assumed:
        partition, account, role = assumed.groups()
        names.add(f"arn:{partition}:iam::{account}:role/{role}")
    account_match = _ACCOUNT.match(caller_arn)
    if account_match:
        account = account_match.group(1)
        partition = caller_arn.split(":")[1]
        names.update({account, f"arn:{partition}:iam::{account}:root"})
    return names


def trusts(trust_policy: str | dict[str, Any], caller_arn: str, external_id: str | None) -> bool:
    """Whether ``trust_policy`` lets ``caller_arn`` assume the role with ``external_id``."""
    document = json.loads(trust_policy) if isinstance(trust_policy, str) else trust_policy
    names = caller_principals(caller_arn)
    for statement in _as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        if not {"sts:AssumeRole", "sts:*", "*"} & set(_as_list(statement.get("Action"))):
            continue
        principal = statement.get("Principal")
        allowed: Iterable[str] = (
            ["*"] if principal == "*" else _as_list((principal or {}).get("AWS"))
        )
        if "*" not in allowed and not names & set(allowed):
            continue
        equals = (statement.get("Condition") or {}).get("StringEquals") or {}
        wanted = equals.get("sts:ExternalId")
        if wanted is not None and external_id not in _as_list(wanted):
            continue
        return True
    return False


def enforce_trust_policies() -> Callable[[], None]:
    """Make the in-process moto refuse an AssumeRole that the role's trust policy does not
    allow, or of a role that does not exist, as AWS does. Returns the undo."""
    from moto.core.exceptions import AccessDeniedError
    from moto.iam.models import iam_backends
    from moto.sts.responses import TokenResponse

    original = TokenResponse.assume_role

    def assume_role(self: Any) -> Any:
        role_arn = str(self._get_param("RoleArn") or "")
        external_id = self._get_param("ExternalId")
        _, caller_arn, _ = self.backend.get_caller_identity(self.get_access_key(), self.region)
        account = _ACCOUNT.match(role_arn)
        role = None
        if account:
            backend = iam_backends[account.group(1)][role_arn.split(":")[1]]
            role = next((r for r in backend.get_roles() if r.arn == role_arn), None)
        if role is None or not trusts(role.assume_role_policy_document, caller_arn, external_id):
            # AWS's own words: "User: <caller> is not authorized to perform: sts:AssumeRole
            # on resource: <role>", 403 AccessDenied.
            raise AccessDeniedError(caller_arn, f"sts:AssumeRole on resource: {role_arn}")
        return original(self)

    TokenResponse.assume_role = assume_role  # type: ignore[method-assign]

    def undo() -> None:
        TokenResponse.assume_role = original  # type: ignore[method-assign]

    return undo
