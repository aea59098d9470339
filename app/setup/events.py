"""Near-real-time updates: what a customer deploys so that API Gateway's changes reach the
ingest endpoint through EventBridge, filled in for one connection."""

from __future__ import annotations

from app.setup import templates
from app.setup.schemas import EventForwardingSetup

STACK_NAME = "onboarder-events"
# Its own name: a management account may hold a plain forwarding stack in the same region.
ORGANIZATION_STACK_NAME = "onboarder-events-org"


def event_forwarding(
    *, credential_type: str, ingest_url: str, regions: list[str]
) -> EventForwardingSetup:
    """The templates and steps for a connection whose events arrive at `ingest_url`.

    A central_role connection reaches an organization: it gets a StackSet for the management
    account. Every other connection reaches one account: it gets a stack per region. The
    regions are the schedule's (validated when it was saved) or the partition's.
    """
    chosen = templates.forwarding_regions(regions)
    account_template = templates.event_forwarding_template(ingest_url=ingest_url)
    if credential_type == "central_role":
        return EventForwardingSetup(
            ingest_url=ingest_url,
            token_header=templates.INGEST_TOKEN_HEADER,
            template_kind="stackset",
            regions=chosen,
            cloudformation_template=templates.event_forwarding_stackset_template(
                ingest_url=ingest_url, regions=chosen
            ),
            account_template=account_template,
            instructions=_stackset_instructions(ingest_url, chosen),
        )
    return EventForwardingSetup(
        ingest_url=ingest_url,
        token_header=templates.INGEST_TOKEN_HEADER,
        template_kind="stack",
        regions=chosen,
        cloudformation_template=account_template,
        account_template=account_template,
        instructions=_stack_instructions(ingest_url, chosen),
    )


def _stack_instructions(ingest_url: str, regions: list[str]) -> list[str]:
    return [
        *_before(ingest_url),
        f"In the AWS account this connection reaches, deploy cloudformation_template as a stack "
        f"in {_each_region(regions)}: one stack per region, because EventBridge sees a call "
        "only in the region where it happens. With the AWS CLI, save the template as "
        f"{STACK_NAME}.yaml and run, once per region: {_deploy_command(STACK_NAME)} "
        "--region <region>. In the console: CloudFormation > Create stack > Upload a template "
        f"file, paste the token as {templates.INGEST_TOKEN_PARAMETER} and acknowledge that "
        "the stack creates an IAM role. " + _AVAILABILITY,
        *_after(),
    ]


def _stackset_instructions(ingest_url: str, regions: list[str]) -> list[str]:
    parameter = templates.REGIONS_PARAMETER
    regions_step = (
        f"{parameter} is pre-filled with {', '.join(regions)}; add or remove regions there"
        if regions
        else f"set {parameter} to the regions whose APIs you want watched, e.g. us-east-1,eu-west-1"
    )
    return [
        *_before(ingest_url),
        "Sign in to the organization's management account, where trusted access for "
        f"CloudFormation StackSets is on (as for {templates.CHILD_ROLE_NAME}). Create a stack "
        "from cloudformation_template in any one region (CloudFormation > Create stack, or save "
        f"it as {ORGANIZATION_STACK_NAME}.yaml and run "
        f"{_deploy_command(ORGANIZATION_STACK_NAME)} "
        f"{templates.ORGANIZATIONAL_UNITS_PARAMETER}=r-xxxx). It creates a service-managed "
        "StackSet that gives every account of the chosen OUs one forwarding stack per region, "
        "and new accounts theirs automatically.",
        f"Set {templates.ORGANIZATIONAL_UNITS_PARAMETER} to the organization's root id (r-xxxx: "
        "Organizations > AWS accounts, or aws organizations list-roots) to cover every account, "
        f"or to the ids of the OUs to cover (ou-xxxx-yyyyyyyy, comma separated); {regions_step}. "
        + _AVAILABILITY,
        "StackSets never deploy to the management account itself. If it has APIs to watch, "
        "deploy account_template there as a plain stack in each of those regions, with the same "
        f"{templates.INGEST_TOKEN_PARAMETER}: save it as {STACK_NAME}.yaml and run "
        f"{_deploy_command(STACK_NAME)} --region <region>.",
        *_after(),
    ]


_AVAILABILITY = (
    "EventBridge API destinations are not offered in every region (see 'EventBridge feature "
    "availability by Region'): where they are not, the stack fails to create."
)


def _before(ingest_url: str) -> list[str]:
    steps = []
    if not ingest_url.startswith("https://"):
        steps.append(
            f"The ingest URL, {ingest_url}, is not HTTPS, and EventBridge API destinations only "
            "call HTTPS endpoints: the service's operator sets ONBOARDER_PUBLIC_URL to its "
            "public https:// address before anyone deploys these templates."
        )
    steps.append(
        "If this connection has no ingest token yet, create one with POST "
        "/api/v1/connections/{id}/ingest-token and keep it in a password manager: it is shown "
        "once and the service keeps only its hash. A new token replaces the old one, so stacks "
        f"deployed with the old one need an update with the new "
        f"{templates.INGEST_TOKEN_PARAMETER}. To use it from a shell without leaving it in the "
        "history: read -rs ONBOARDER_INGEST_TOKEN && export ONBOARDER_INGEST_TOKEN, then paste "
        "it."
    )
    return steps


def _after() -> list[str]:
    return [
        "EventBridge receives API Gateway's calls only while a CloudTrail trail is logging in "
        "each account and region: an organization trail (CloudTrail > Trails, enabled for all "
        "accounts in the organization) covers every account; otherwise each account needs a "
        "multi-region trail of its own. API Gateway's calls are management events, which "
        "trails log by default.",
        "Each change then reaches the service within seconds and triggers a sync of the API it "
        "changed. The scheduled discovery keeps running as the backstop: CloudTrail and "
        "EventBridge deliver on a best-effort basis, and anything an event misses is found on "
        "the next run.",
    ]


def _each_region(regions: list[str]) -> str:
    if not regions:
        return "each region where it has APIs to watch"
    return "each region where it has APIs to watch (" + ", ".join(regions) + ")"


def _deploy_command(stack_name: str) -> str:
    return (
        f"aws cloudformation deploy --template-file {stack_name}.yaml --stack-name {stack_name} "
        "--capabilities CAPABILITY_IAM --parameter-overrides "
        f'{templates.INGEST_TOKEN_PARAMETER}="$ONBOARDER_INGEST_TOKEN"'
    )
