from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)

from app.integrations.aws.sessions import REGION_PATTERN
from app.models import AutoOnboardRun, AutoOnboardSchedule
from app.schedules.timing import DAYS_OF_WEEK
from app.scope.schemas import AccountRule, OuRule, ScopeFields, TagRule

Frequency = Literal["daily", "weekly", "monthly"]
DayOfWeek = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Scope = Literal["all", "published_after"]
RunStatus = Literal["queued", "running", "succeeded", "partial", "failed"]
# What a run counts, on the run and per account and region.
RUN_COUNTERS = (
    "discovered",
    "onboarded",
    "instances_added",
    "skipped_existing",
    "skipped_out_of_scope",
    "skipped_no_stage",
)
# What a run's syncs did (the lifecycle), counted beside them.
LIFECYCLE_COUNTERS = ("synced", "definitions_changed", "retired", "orphaned", "restored")
# New in-scope APIs a run in approval mode held as candidates instead of onboarding them.
APPROVAL_COUNTERS = ("held_for_approval",)
T = TypeVar("T")

assert DayOfWeek.__args__ == DAYS_OF_WEEK  # type: ignore[attr-defined]


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def _only_for(frequency: str, value: T, info: ValidationInfo, required: str) -> T:
    """A field that a `frequency` needs and no other frequency takes."""
    given = info.data.get("frequency")
    if given == frequency and value is None:
        raise ValueError(required)
    if given not in (None, frequency) and value is not None:
        raise ValueError(f"applies to {frequency} schedules only; this one is {given}")
    return value


# What GET answers beside the schedule's own fields; ignored when sent back with PUT.
_READ_ONLY = frozenset(
    {"connection_id", "next_run_at", "next_run_at_local", "last_run", "created_at", "updated_at"}
)


class ScheduleWrite(ScopeFields):
    """The body of PUT /connections/{id}/auto-onboard: the whole schedule, saved as sent.

    Fields that do not apply to the frequency or the scope are refused rather than kept, so
    that what is stored is what runs.
    """

    model_config = ConfigDict(extra="forbid")

    frequency: Frequency = "weekly"
    day_of_week: DayOfWeek | None = Field(default=None, validate_default=True)
    day_of_month: Annotated[int | None, Field(ge=1, le=28, validate_default=True)] = None
    hour: Annotated[int, Field(ge=0, le=23)]
    minute: Annotated[int, Field(ge=0, le=59)]
    timezone: Annotated[str, Field(min_length=1, max_length=64)]
    # Checked against the connection's partition and credential type by the service.
    regions: (
        list[
            Annotated[
                str,
                Field(min_length=1, max_length=32, json_schema_extra={"pattern": REGION_PATTERN}),
            ]
        ]
        | None
    ) = Field(
        default=None,
        max_length=64,
        description="Required, and not empty, for aws_user and assume_role connections; for a "
        "central_role, none means every enabled region of every account.",
    )
    scope: Scope = "all"
    published_after: date | None = Field(default=None, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _without_read_only_fields(cls, data: Any) -> Any:
        # A schedule read with GET can be changed and sent back as it is.
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if key not in _READ_ONLY}
        return data

    @field_validator("day_of_week")
    @classmethod
    def _day_of_week(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _only_for("weekly", value, info, "is required for a weekly schedule (mon..sun)")

    @field_validator("day_of_month")
    @classmethod
    def _day_of_month(cls, value: int | None, info: ValidationInfo) -> int | None:
        return _only_for(
            "monthly", value, info, "is required for a monthly schedule (1-28: every month has it)"
        )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if value not in _zone_names():
            raise ValueError("is not an IANA time zone name, e.g. Europe/Berlin or UTC")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed but unreadable
            raise ValueError("is not a time zone this server knows") from None
        return value

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else list(dict.fromkeys(value))

    @field_validator("published_after")
    @classmethod
    def _published_after(cls, value: date | None, info: ValidationInfo) -> date | None:
        scope = info.data.get("scope")
        if scope == "published_after" and value is None:
            raise ValueError("is required with scope published_after (YYYY-MM-DD)")
        if scope == "all" and value is not None:
            raise ValueError("applies only with scope published_after")
        return value


class RunError(BaseModel):
    account_id: str | None
    region: str | None
    api_id: str | None = None
    code: str
    message: str
    hint: str | None = None


class RunSkip(BaseModel):
    account_id: str
    region: str
    api_id: str
    name: str
    reason: str


class AccountRegion(BaseModel):
    account_id: str
    region: str


class RunResult(BaseModel):
    """What a run did in one account and region."""

    account_id: str
    region: str
    # denied_by_policy: the organization denies API Gateway there (a service control policy,
    # Control Tower's region deny control): listed nothing, and not a failure of the run.
    status: Literal["ok", "not_enabled", "denied_by_policy", "failed", "unreachable"]
    discovered: int = 0
    onboarded: int = 0
    instances_added: int = 0
    skipped_existing: int = 0
    skipped_out_of_scope: int = 0
    skipped_no_stage: int = 0
    failed: int = 0
    synced: int = 0
    definitions_changed: int = 0
    retired: int = 0
    orphaned: int = 0
    restored: int = 0
    # New APIs of this account and region held as candidates (approval mode).
    held_for_approval: int = 0


class ExcludedAccount(BaseModel):
    account_id: str
    name: str | None = None
    reason: str


class RunRead(BaseModel):
    id: uuid.UUID
    connection_id: uuid.UUID
    trigger: Literal["scheduled", "manual"]
    scheduled_for: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    status: RunStatus
    regions: list[str]
    scope: Scope
    published_after: date | None
    discovered: int
    onboarded: int
    instances_added: int
    skipped_existing: int
    skipped_out_of_scope: int
    skipped_no_stage: int
    # The lifecycle: onboarded APIs compared with the listing, definitions read again and
    # changed, applications retired (API gone), orphaned (account gone) and restored.
    synced: int = 0
    definitions_changed: int = 0
    retired: int = 0
    orphaned: int = 0
    restored: int = 0
    held_for_approval: int = 0
    errors: list[RunError]
    skipped: list[RunSkip]
    results: list[RunResult]
    application_ids: list[uuid.UUID]
    # The scope it ran with, and the accounts it left out (never assumed into), with why.
    accounts: AccountRule | None = None
    organizational_units: OuRule | None = None
    exclude_regions: list[str] | None = None
    tags: TagRule | None = None
    approval: bool = False
    excluded_accounts: list[ExcludedAccount] = []

    @computed_field  # type: ignore[prop-decorator]
    @property
    def regions_denied_by_policy(self) -> list[AccountRegion]:
        """The accounts' regions the organization denies by policy (from `results`)."""
        return [
            AccountRegion(account_id=result.account_id, region=result.region)
            for result in self.results
            if result.status == "denied_by_policy"
        ]

    @classmethod
    def of(cls, run: AutoOnboardRun) -> RunRead:
        return cls.model_validate(run, from_attributes=True)


class RunSummary(BaseModel):
    id: uuid.UUID
    trigger: Literal["scheduled", "manual"]
    status: RunStatus
    scheduled_for: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


class _ScheduleFields(BaseModel):
    frequency: Frequency
    day_of_week: DayOfWeek | None
    day_of_month: int | None
    hour: int
    minute: int
    timezone: str
    regions: list[str]
    scope: Scope
    published_after: date | None
    next_run_at: datetime
    next_run_at_local: datetime
    accounts: AccountRule | None = None
    organizational_units: OuRule | None = None
    exclude_regions: list[str] | None = None
    tags: TagRule | None = None
    approval: bool = False


class ScheduleRead(_ScheduleFields):
    connection_id: uuid.UUID
    last_run: RunRead | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, schedule: AutoOnboardSchedule, last_run: AutoOnboardRun | None) -> ScheduleRead:
        return cls(
            connection_id=schedule.connection_id,
            frequency=schedule.frequency,
            day_of_week=schedule.day_of_week,
            day_of_month=schedule.day_of_month,
            hour=schedule.hour,
            minute=schedule.minute,
            timezone=schedule.timezone,
            regions=schedule.regions,
            scope=schedule.scope,
            published_after=schedule.published_after,
            accounts=schedule.accounts,
            organizational_units=schedule.organizational_units,
            exclude_regions=schedule.exclude_regions,
            tags=schedule.tags,
            approval=schedule.approval,
            next_run_at=schedule.next_run_at,
            next_run_at_local=schedule.next_run_at.astimezone(ZoneInfo(schedule.timezone)),
            last_run=None if last_run is None else RunRead.of(last_run),
            created_at=schedule.created_at,
            updated_at=schedule.updated_at,
        )


class ScheduleSummary(_ScheduleFields):
    """What `Connection.auto_onboard` shows of the connection's schedule."""

    last_run: RunSummary | None

    @classmethod
    def of(cls, read: ScheduleRead) -> ScheduleSummary:
        data: dict[str, Any] = read.model_dump(include=set(cls.model_fields) - {"last_run"})
        last = read.last_run
        data["last_run"] = None if last is None else RunSummary.model_validate(last.model_dump())
        return cls.model_validate(data)
