"""What an EventBridge "AWS API Call via CloudTrail" event from API Gateway asks of us.

EventBridge receives the management calls CloudTrail records in the account and region where
they happen; a rule forwards API Gateway's to the ingest endpoint through an API destination
(`app/setup/events.py`). Each event is validated here (its envelope always, its `detail` when
it is API Gateway's), and a change call becomes a trigger on what it changed: one API, or a
custom domain when the call names no API (DeleteBasePathMapping, DeleteDomainName, ...).
Reads (Get*), failed calls and other services' events are ignored: nothing changed.

Nothing here trusts the event beyond "look at this API now": the sync it triggers reads AWS,
so a forged event can cause a read, never a change to the inventory that AWS does not confirm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from app.integrations.aws.sessions import ACCOUNT_ID_PATTERN, REGION_PATTERN

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
SOURCE = "aws.apigateway"
EVENT_SOURCE = "apigateway.amazonaws.com"

# The calls that change what an API serves or where it answers (REST, then HTTP/WebSocket:
# both are apigateway.amazonaws.com in CloudTrail). The setup templates' rule forwards these.
CHANGE_EVENTS = (
    "CreateRestApi",
    "ImportRestApi",
    "PutRestApi",
    "UpdateRestApi",
    "DeleteRestApi",
    "CreateDeployment",
    "DeleteDeployment",
    "CreateStage",
    "UpdateStage",
    "DeleteStage",
    "CreateBasePathMapping",
    "UpdateBasePathMapping",
    "DeleteBasePathMapping",
    "CreateDomainName",
    "UpdateDomainName",
    "DeleteDomainName",
    "CreateApi",
    "ImportApi",
    "ReimportApi",
    "UpdateApi",
    "DeleteApi",
    "CreateApiMapping",
    "UpdateApiMapping",
    "DeleteApiMapping",
)
_CHANGES = frozenset(CHANGE_EVENTS)
# Calls whose API id is only in the answer: the API did not exist before them.
_CREATES = frozenset({"CreateRestApi", "ImportRestApi", "CreateApi", "ImportApi"})
_API_ID_KEYS = ("restApiId", "apiId", "restapi_id", "api_id")
_DOMAIN_KEYS = ("domainName", "domain_name")
_API_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_DOMAIN = re.compile(r"[A-Za-z0-9*][A-Za-z0-9.*-]{0,252}")

API, DOMAIN = "api", "domain"


class Envelope(BaseModel):
    """What every EventBridge event carries."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    version: str | None = None
    id: str = Field(min_length=1, max_length=128)
    detail_type: str = Field(alias="detail-type", max_length=256)
    source: str = Field(max_length=256)
    account: str = Field(pattern=ACCOUNT_ID_PATTERN)
    region: str = Field(pattern=REGION_PATTERN)
    time: datetime | None = None
    detail: dict[str, Any]


class CloudTrailDetail(BaseModel):
    """The CloudTrail record of an API Gateway call (the fields a trigger needs)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    event_source: str = Field(alias="eventSource")
    event_name: str = Field(alias="eventName", min_length=1, max_length=64)
    event_time: datetime | None = Field(default=None, alias="eventTime")
    error_code: str | None = Field(default=None, alias="errorCode")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")


_ENVELOPES = TypeAdapter(
    Annotated[Envelope, Field()] | Annotated[list[Envelope], Field(min_length=1)]
)
_DETAIL = TypeAdapter(CloudTrailDetail)


@dataclass(frozen=True)
class Change:
    """One API Gateway change call: the trigger it leaves."""

    event_id: str
    event_name: str
    event_time: datetime | None
    account_id: str
    region: str
    kind: str  # api | domain
    name: str  # the API id or the domain name

    @property
    def target(self) -> str:
        return f"{self.kind}:{self.name}"


@dataclass(frozen=True)
class Parsed:
    changes: list[Change]
    ignored: int


def parse(body: Any) -> Parsed:
    """The changes in one request's body (an event or a list of them); RequestValidationError,
    naming the field, when the body is not EventBridge events."""
    try:
        envelopes = _ENVELOPES.validate_python(body)
    except ValidationError as exc:
        raise RequestValidationError(_located(exc, ())) from None
    items = envelopes if isinstance(envelopes, list) else [envelopes]
    changes: list[Change] = []
    ignored = 0
    for index, envelope in enumerate(items):
        where: tuple[int | str, ...] = (index,) if isinstance(envelopes, list) else ()
        change = _change(envelope, where)
        if change is None:
            ignored += 1
        else:
            changes.append(change)
    return Parsed(changes=changes, ignored=ignored)


def _located(exc: ValidationError, where: tuple[int | str, ...]) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if not where and loc and loc[0] in ("Envelope", "list[Envelope]"):
            loc = loc[1:]  # which arm of the union: noise to a caller
        errors.append({**error, "loc": ("body", *where, *loc)})
    return errors


def _change(envelope: Envelope, where: tuple[int | str, ...]) -> Change | None:
    if envelope.source != SOURCE or envelope.detail_type != CLOUDTRAIL_DETAIL_TYPE:
        return None
    try:
        detail = _DETAIL.validate_python(envelope.detail)
    except ValidationError as exc:
        raise RequestValidationError(_located(exc, (*where, "detail"))) from None
    if (
        detail.event_source != EVENT_SOURCE
        or detail.event_name not in _CHANGES
        or detail.error_code  # the call failed: nothing changed
    ):
        return None
    target = _target(detail)
    if target is None:
        return None
    kind, name = target
    return Change(
        event_id=envelope.id,
        event_name=detail.event_name,
        event_time=detail.event_time or envelope.time,
        account_id=envelope.account,
        region=envelope.region,
        kind=kind,
        name=name,
    )


def _target(detail: CloudTrailDetail) -> tuple[str, str] | None:
    request = detail.request_parameters or {}
    api_id = _first(request, _API_ID_KEYS, _API_ID)
    if api_id is None and detail.event_name in _CREATES:
        response = detail.response_elements or {}
        api_id = _first(response, ("id", *_API_ID_KEYS), _API_ID)
    if api_id is not None:
        return API, api_id
    domain = _first(request, _DOMAIN_KEYS, _DOMAIN)
    if domain is not None:
        return DOMAIN, domain.lower()
    return None


def _first(values: dict[str, Any], keys: tuple[str, ...], pattern: re.Pattern[str]) -> str | None:
    """The first of `keys` in `values` or in a dict nested in it (CloudTrail puts a request's
    body under one key, e.g. `createBasePathMappingInput`), when it looks like one."""
    for scope in (values, *(v for v in values.values() if isinstance(v, dict))):
        for key in keys:
            value = scope.get(key)
            if isinstance(value, str) and pattern.fullmatch(value):
                return value
    return None
