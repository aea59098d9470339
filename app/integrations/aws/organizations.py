"""An organization's structure: the accounts of organizational units, nested OUs included.

A schedule may include or exclude OUs (`ou-...`) or the root (`r-...`); a run resolves each
once, top down: ListAccountsForParent and ListOrganizationalUnitsForParent on the OU, then on
each OU under it. An OU the organization does not have is `ou_not_found` for that OU alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.integrations.aws.errors import AwsError, AwsFailure, CallContext
from app.integrations.aws.sessions import AwsSession, call_aws

LIST_ACCOUNTS = "organizations:ListAccountsForParent"
LIST_OUS = "organizations:ListOrganizationalUnitsForParent"


@dataclass
class OrganizationalUnits:
    """What each OU holds: its accounts and those of every OU under it."""

    accounts: dict[str, set[str]] = field(default_factory=dict)
    failures: dict[str, AwsFailure] = field(default_factory=dict)

    def holding(self, ou_ids: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for ou_id in ou_ids:
            found |= self.accounts.get(ou_id, set())
        return found


def _children(
    organizations: Any, operation: str, key: str, parent: str, context: CallContext
) -> list[str]:
    return [item["Id"] for item in _items(organizations, operation, key, parent, context)]


def resolve(
    central: AwsSession, ou_ids: Iterable[str], *, central_role_arn: str
) -> OrganizationalUnits:
    """The accounts under each OU (or root) id; one that cannot be read is in `failures`."""
    organizations = central.client("organizations")
    resolved = OrganizationalUnits()
    for ou_id in dict.fromkeys(ou_ids):
        accounts: set[str] = set()
        parents = [ou_id]
        try:
            while parents:
                parent = parents.pop()
                accounts.update(
                    _children(
                        organizations,
                        "list_accounts_for_parent",
                        "Accounts",
                        parent,
                        CallContext(LIST_ACCOUNTS, role_arn=central_role_arn, resource=ou_id),
                    )
                )
                parents += _children(
                    organizations,
                    "list_organizational_units_for_parent",
                    "OrganizationalUnits",
                    parent,
                    CallContext(LIST_OUS, role_arn=central_role_arn, resource=ou_id),
                )
        except AwsError as exc:
            resolved.failures[ou_id] = exc.failure
            continue
        resolved.accounts[ou_id] = accounts
    return resolved


@dataclass
class OrganizationalUnit:
    id: str
    name: str
    parent_id: str | None
    account_ids: list[str] = field(default_factory=list)


def _items(
    organizations: Any, operation: str, key: str, parent: str, context: CallContext
) -> list[dict[str, Any]]:
    paginator = organizations.get_paginator(operation)
    pages = iter(paginator.paginate(ParentId=parent, PaginationConfig={"PageSize": 20}))
    found: list[dict[str, Any]] = []
    while True:
        page = call_aws(context, lambda: next(pages, None))
        if page is None:
            return found
        found += page.get(key, [])


def tree(central: AwsSession, *, central_role_arn: str) -> list[OrganizationalUnit]:
    """The root(s) and every OU under them, with their names and direct accounts, top down."""
    organizations = central.client("organizations")
    roots_context = CallContext("organizations:ListRoots", role_arn=central_role_arn)
    roots = call_aws(roots_context, lambda: organizations.list_roots()).get("Roots", [])
    found: list[OrganizationalUnit] = []
    queue = [OrganizationalUnit(r["Id"], r.get("Name") or "Root", None) for r in roots]
    while queue:
        unit = queue.pop(0)
        found.append(unit)
        accounts = CallContext(LIST_ACCOUNTS, role_arn=central_role_arn, resource=unit.id)
        unit.account_ids = [
            a["Id"]
            for a in _items(
                organizations, "list_accounts_for_parent", "Accounts", unit.id, accounts
            )
        ]
        ous = CallContext(LIST_OUS, role_arn=central_role_arn, resource=unit.id)
        queue += [
            OrganizationalUnit(ou["Id"], ou.get("Name") or ou["Id"], unit.id)
            for ou in _items(
                organizations,
                "list_organizational_units_for_parent",
                "OrganizationalUnits",
                unit.id,
                ous,
            )
        ]
    return found
