"""Which accounts, regions and APIs a run covers (`Scope`), decided before AWS is asked."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from app.integrations.aws.apigateway import DiscoveredApi
from app.integrations.aws.organizations import OrganizationalUnits
from app.scope.schemas import ANY_VALUE

EXCLUDED_BY_SCOPE = "excluded_by_scope"


def _ids(rule: Mapping[str, Any] | None, side: str) -> tuple[str, ...]:
    return tuple((rule or {}).get(side) or ())


class _ScopeFields(Protocol):
    """The scope's columns, as a schedule and its runs store them (JSON)."""

    @property
    def accounts(self) -> Mapping[str, Any] | None: ...
    @property
    def organizational_units(self) -> Mapping[str, Any] | None: ...
    @property
    def exclude_regions(self) -> Iterable[str] | None: ...
    @property
    def tags(self) -> Mapping[str, Any] | None: ...
    @property
    def approval(self) -> bool: ...


@dataclass(frozen=True)
class Scope:
    """A run's scope, from the schedule's fields as stored (JSON)."""

    accounts_include: tuple[str, ...] = ()
    accounts_exclude: tuple[str, ...] = ()
    ous_include: tuple[str, ...] = ()
    ous_exclude: tuple[str, ...] = ()
    exclude_regions: tuple[str, ...] = ()
    tags_include: Mapping[str, str] = field(default_factory=dict)
    tags_exclude: Mapping[str, str] = field(default_factory=dict)
    approval: bool = False

    @classmethod
    def of(cls, row: _ScopeFields) -> Scope:
        """The scope a schedule holds (a run holds a copy of its schedule's)."""
        return cls(
            accounts_include=_ids(row.accounts, "include"),
            accounts_exclude=_ids(row.accounts, "exclude"),
            ous_include=_ids(row.organizational_units, "include"),
            ous_exclude=_ids(row.organizational_units, "exclude"),
            exclude_regions=tuple(row.exclude_regions or ()),
            tags_include=dict((row.tags or {}).get("include") or {}),
            tags_exclude=dict((row.tags or {}).get("exclude") or {}),
            approval=row.approval,
        )

    @property
    def organizational_units(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.ous_include, *self.ous_exclude)))

    def regions(self, regions: Iterable[str]) -> list[str]:
        return [region for region in regions if region not in self.exclude_regions]

    def account_reason(self, account_id: str, ous: OrganizationalUnits) -> str | None:
        """Why the account is out of scope, or None. Includes (accounts or OUs) add up;
        an exclude wins over any include."""
        if account_id in self.accounts_exclude:
            return "the schedule leaves this account out (accounts.exclude)"
        for ou_id in self.ous_exclude:
            if account_id in ous.accounts.get(ou_id, ()):
                return f"it is in organizational unit {ou_id}, which the schedule leaves out"
        if not (self.accounts_include or self.ous_include):
            return None
        if account_id in self.accounts_include or account_id in ous.holding(self.ous_include):
            return None
        return "the schedule includes only other accounts and organizational units"

    def api_reason(self, api: DiscoveredApi) -> str | None:
        """Why the API is out of scope by its tags, or None."""
        for key, value in self.tags_exclude.items():
            if key in api.tags and value in (ANY_VALUE, api.tags[key]):
                return f"it is tagged {key}={api.tags[key]}, which the schedule leaves out"
        for key, value in self.tags_include.items():
            if key not in api.tags:
                return f"it has no {key} tag, which the schedule asks for"
            if value not in (ANY_VALUE, api.tags[key]):
                return f"it is tagged {key}={api.tags[key]}; the schedule asks for {key}={value}"
        return None


def matches_tag(api: DiscoveredApi, rule: str) -> bool:
    """`key=value` (or `key=*`, or `key`): the filter of GET /apis?tag=."""
    key, _, value = rule.partition("=")
    if key not in api.tags:
        return False
    return value in ("", ANY_VALUE) or api.tags[key] == value
