"""The scope of a schedule: which accounts, organizational units, regions and tagged APIs a
run covers, and whether it onboards what it finds or holds it for approval."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.integrations.aws.sessions import REGION_PATTERN

AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
# An OU (ou-<root>-<ou>) or the root (r-...), as AWS Organizations writes them.
OuId = Annotated[
    str, StringConstraints(pattern=r"^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$")
]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128)]
# A value, or "*" for any value of the key.
TagValue = Annotated[str, StringConstraints(max_length=256)]
Region = Annotated[
    str, Field(min_length=1, max_length=32, json_schema_extra={"pattern": REGION_PATTERN})
]
ANY_VALUE = "*"


def _no_overlap(include: list[str] | None, exclude: list[str] | None) -> None:
    both = sorted(set(include or ()) & set(exclude or ()))
    if both:
        raise ValueError(f"{', '.join(both)} both included and excluded")


class AccountRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    include: list[AccountId] | None = Field(default=None, max_length=1000)
    exclude: list[AccountId] | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> AccountRule:
        _no_overlap(self.include, self.exclude)
        return self


class OuRule(BaseModel):
    """An OU includes (or excludes) every account under it, in nested OUs too."""

    model_config = ConfigDict(extra="forbid")

    include: list[OuId] | None = Field(default=None, max_length=100)
    exclude: list[OuId] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> OuRule:
        _no_overlap(self.include, self.exclude)
        return self


class TagRule(BaseModel):
    """`include`: an API must carry every one of these tags (value, or "*" for any value);
    `exclude`: an API carrying any one of these is left out. Exclude wins."""

    model_config = ConfigDict(extra="forbid")

    include: dict[TagKey, TagValue] | None = Field(default=None, max_length=50)
    exclude: dict[TagKey, TagValue] | None = Field(default=None, max_length=50)

    @model_validator(mode="after")
    def _not_empty(self) -> TagRule:
        if not self.include and not self.exclude:
            raise ValueError("needs at least one tag to include or exclude")
        return self


class ScopeFields(BaseModel):
    """A schedule's scope; what is not given does not narrow."""

    accounts: AccountRule | None = None
    organizational_units: OuRule | None = Field(
        default=None, description="central_role connections only"
    )
    exclude_regions: list[Region] | None = Field(default=None, max_length=64)
    tags: TagRule | None = None
    approval: bool = Field(
        default=False,
        description="true: new in-scope APIs become candidates to approve instead of being "
        "onboarded",
    )


def stored(rule: BaseModel | None) -> dict[str, Any] | None:
    """A rule as its JSON column keeps it (None: no rule)."""
    return None if rule is None else rule.model_dump(exclude_none=True)


class CandidateStage(BaseModel):
    name: str
    deployment_id: str | None = None
    instance_urls: list[str] = []


class CandidateRead(BaseModel):
    """An API a run in approval mode found and held."""

    id: uuid.UUID
    connection_id: uuid.UUID
    account_id: str
    region: str
    api_id: str
    name: str
    protocol: str
    endpoint_type: str
    tags: dict[str, str]
    stages: list[CandidateStage]
    status: Literal["pending", "dismissed", "approved"]
    found_at: datetime
    updated_at: datetime
    dismissed_at: datetime | None
    application_id: uuid.UUID | None
