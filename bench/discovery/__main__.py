"""Discovery benchmark: the engine against the strategy common tools use, on one organization.

    python -m bench.discovery                      # 200 accounts x 17 regions, 50 ms latency
    python -m bench.discovery --accounts 1000
    python -m bench.discovery --skip-common        # only the engine
    python -m bench.discovery --delegated-admin    # the central role in a member account
    python -m bench.discovery --skip-summary       # without the "APIs by region" lane

Both strategies talk HTTP to the same simulated AWS endpoint (bench/discovery/simulated_aws.py,
in its own process) through the standard AWS_ENDPOINT_URL, with the central-role flow: assume the
central role, list the organization (pages of 20) and read it (DescribeOrganization: its
management account), assume the child role in each account, list REST, HTTP and WebSocket APIs
with their stages and custom domains in every region: base path and API mappings (some without
a stage, some of private domains), and the routing rules of the domains whose routing mode uses
them.

The engine's run is checked against the organization: every API found, every custom domain URL
(with its stage, the headers a routing rule asks for, and whether only a VPC reaches it) and
nothing else, no error, the management account named as such, and the calls it makes by
operation (organization.discovery_calls); it exits 1 when one differs. The common strategy
(one account at a time, boto3 defaults, no routing rules) is only timed and counted.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench.discovery.organization import (
    SimOrganization,
    build_organization,
    discovery_calls,
    domain_urls,
    summary_calls,
)
from bench.discovery.simulated_aws import (
    PLATFORM_ACCESS_KEY_ID,
    PLATFORM_SECRET_ACCESS_KEY,
    QUOTA_BURST,
    QUOTA_RATE,
    SimulatedEndpoint,
)

PLATFORM_PRINCIPAL = "arn:aws:iam::999999999999:user/bench"
EXTERNAL_ID = "bench-external-id"
# A custom domain URL of one API: (account, region, API id, url, stage, headers, reachable).
FoundUrl = tuple[str, str, str, str, str | None, tuple[tuple[str, str], ...], str]


@dataclass
class Found:
    """What a strategy found: API ids, custom domain URLs (None: not looked at), errors, and
    the accounts it took for the organization's management account (None: not asked)."""

    apis: set[str]
    errors: list[str]
    urls: set[FoundUrl] | None = None
    management: set[str] | None = None


@dataclass
class Run:
    name: str
    wall: float
    cpu: float
    calls: int
    throttled: int
    busiest: int
    found: Found
    peak_rss_mb: float
    by_operation: Counter[str] = field(default_factory=Counter)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(name: str, endpoint: SimulatedEndpoint, work: Callable[[], Found]) -> Run:
    endpoint.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    found = work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stats = endpoint.stats()
    return Run(
        name=name,
        wall=wall,
        cpu=cpu,
        calls=sum(stats["calls"].values()),
        throttled=stats["throttled"],
        busiest=stats["busiest_account_region_calls"],
        found=found,
        peak_rss_mb=_rss_mb(),
        by_operation=Counter(stats["calls"]),
    )


def expected_urls(org: SimOrganization) -> set[FoundUrl]:
    reachable = {a.account_id for a in org.reachable_accounts()}
    return {
        (account_id, region, api_id, *url)
        for account_id, region in org.apis
        if account_id in reachable
        for api_id, urls in domain_urls(org, account_id, region).items()
        for url in urls
    }


# ------------------------------------------------------------------------------ the engine
def _central_role_engine(org: SimOrganization, in_flight: int) -> tuple[Any, Any, Any]:
    """An engine, the organization's central role and the platform's context, as the service
    builds them."""
    from app.integrations.aws.credentials import CentralRoleCredentials, ProbeContext
    from app.integrations.aws.discovery import DiscoveryEngine
    from app.integrations.aws.sessions import AwsSession

    engine = DiscoveryEngine(max_in_flight=in_flight)
    context = ProbeContext(
        platform=AwsSession.platform,
        tenant_external_id=EXTERNAL_ID,
        platform_principal_arn=PLATFORM_PRINCIPAL,
    )
    spec = CentralRoleCredentials(central_role_arn=org.central_role_arn)
    return engine, spec, context


def engine_strategy(org: SimOrganization, in_flight: int) -> Found:
    engine, spec, context = _central_role_engine(org, in_flight)
    result = engine.discover(spec, context, regions=org.regions)
    errors = [f"{o.account_id}/{o.region}: {o.error.code}" for o in result.outcomes if o.error]
    # Parts of a region that could not be read (a custom domain): none here.
    errors += [
        f"{o.account_id}/{o.region}: {p.message}" for o in result.outcomes for p in o.problems
    ]
    print(f"  engine: botocore met {engine.clients.throttles} throttled answers and retried them")
    urls: set[FoundUrl] = {
        (
            api.account_id,
            api.region,
            api.api_id,
            domain.url,
            domain.stage,
            tuple(sorted(domain.required_headers.items())),
            domain.reachable_from,
        )
        for api in result.apis
        for domain in api.custom_domains
    }
    management = {a.account_id for a in result.accounts if a.management_account}
    return Found({api.api_id for api in result.apis}, errors, urls, management)


def summary_strategy(org: SimOrganization, in_flight: int) -> Found:
    """What GET /connections/{id}/api-summary asks of the engine: every API counted, none
    read further (app/discovery/service.py api_summary)."""
    from app.discovery.service import _COUNT_ONLY

    engine, spec, context = _central_role_engine(org, in_flight)
    result = engine.discover(
        spec, context, regions=org.regions, api_out_of_scope=lambda _api: _COUNT_ONLY
    )
    errors = [f"{o.account_id}/{o.region}: {o.error.code}" for o in result.outcomes if o.error]
    counted = {api.api_id for o in result.outcomes if o.status == "ok" for api in o.apis}
    return Found(counted, errors)


def summary_report(
    summary: Run, engine: Run, org: SimOrganization, expected: set[str], terms: dict[str, float]
) -> list[str]:
    """The summary lane's figures beside full discovery's; what differs from its plan."""
    report(summary, org, expected, terms, check=False)
    plan = summary_calls(org)
    problems = [
        f"summary {operation}: {summary.by_operation[operation]} calls, {plan[operation]} expected"
        for operation in sorted(set(summary.by_operation) | set(plan))
        if summary.by_operation[operation] != plan[operation]
    ]
    if summary.found.apis != expected or summary.found.errors:
        problems.append(
            f"summary counted {len(summary.found.apis)} of {len(expected)} APIs, "
            f"{len(summary.found.errors)} errors"
        )
    print(
        f"  beside full discovery: {summary.calls / engine.calls:.2f}x the calls, "
        f"{summary.wall / engine.wall:.2f}x the wall time (the plan: no GetStages, no domains)"
    )
    return problems


# ------------------------------------------------------------------------------ common tools
def common_strategy(org: SimOrganization) -> Found:
    """One account at a time; in each, ten threads across the regions, boto3 defaults. It
    reads base path and API mappings (a private domain's with its id) but no routing rules."""
    import boto3
    from botocore.exceptions import ClientError

    central = boto3.client("sts").assume_role(
        RoleArn=org.central_role_arn, RoleSessionName="common", ExternalId=EXTERNAL_ID
    )["Credentials"]
    central_session = boto3.Session(
        aws_access_key_id=central["AccessKeyId"],
        aws_secret_access_key=central["SecretAccessKey"],
        aws_session_token=central["SessionToken"],
    )
    organizations = central_session.client("organizations", region_name="us-east-1")
    sts = central_session.client("sts", region_name="us-east-1")
    accounts = [
        account
        for page in organizations.get_paginator("list_accounts").paginate()
        for account in page["Accounts"]
    ]
    found: set[str] = set()
    errors: list[str] = []

    def region_work(session: boto3.Session, account_id: str, region: str) -> None:
        v1 = session.client("apigateway", region_name=region)
        v2 = session.client("apigatewayv2", region_name=region)
        try:
            rest = [a for p in v1.get_paginator("get_rest_apis").paginate() for a in p["items"]]
            for api in rest:
                v1.get_stages(restApiId=api["id"])
            others = [a for p in v2.get_paginator("get_apis").paginate() for a in p["Items"]]
            for api in others:
                v2.get_stages(ApiId=api["ApiId"])
            if rest:
                for p in v1.get_paginator("get_domain_names").paginate():
                    for d in p["items"]:
                        named = {"domainNameId": d["domainNameId"]} if "domainNameId" in d else {}
                        v1.get_base_path_mappings(domainName=d["domainName"], **named)
            if others:
                for d in v2.get_domain_names()["Items"]:
                    v2.get_api_mappings(DomainName=d["DomainName"])
        except ClientError as exc:
            errors.append(f"{account_id}/{region}: {exc.response['Error']['Code']}")
            return
        found.update(api["id"] for api in rest)
        found.update(api["ApiId"] for api in others)

    for account in accounts:
        if account["Status"] != "ACTIVE" or account["Id"] == org.management_account_id:
            continue
        try:
            child = sts.assume_role(
                RoleArn=f"arn:aws:iam::{account['Id']}:role/APIsecChildRole",
                RoleSessionName="common",
                ExternalId=EXTERNAL_ID,
            )["Credentials"]
        except ClientError as exc:
            errors.append(f"{account['Id']}: {exc.response['Error']['Code']}")
            continue
        session = boto3.Session(
            aws_access_key_id=child["AccessKeyId"],
            aws_secret_access_key=child["SecretAccessKey"],
            aws_session_token=child["SessionToken"],
        )
        account_id = account["Id"]
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(lambda r, s=session, a=account_id: region_work(s, a, r), org.regions))
    return Found(found, errors)


# ------------------------------------------------------------------------------ report
def floor(run: Run, org: SimOrganization, latency: float, in_flight: int) -> dict[str, float]:
    pages = math.ceil(len(org.accounts) / 20)
    # ListAccounts pages -> AssumeRole -> GetRestApis -> GetStages -> GetBasePathMappings
    # (DescribeOrganization can run beside ListAccounts, GetDomainNames beside GetStages, and
    # a domain's ListRoutingRules beside its GetBasePathMappings).
    chain = (pages + 1 + 3) * latency
    throughput = run.calls * latency / in_flight
    quota = max(0.0, run.busiest - QUOTA_BURST) / QUOTA_RATE
    return {"chain": chain, "throughput": throughput, "quota": quota}


def report(
    run: Run,
    org: SimOrganization,
    expected: set[str],
    terms: dict[str, float] | None,
    *,
    check: bool,
) -> list[str]:
    """Print the run's figures; when `check`, return how it differs from the organization."""
    found = run.found
    missing = expected - found.apis
    print(f"\n{run.name}")
    print(f"  APIs found           {len(found.apis)} of {len(expected)} (missing {len(missing)})")
    problems: list[str] = []
    if missing or found.apis - expected:
        problems.append(
            f"APIs: {len(missing)} missing {sorted(missing)[:3]}, "
            f"{len(found.apis - expected)} not in the organization"
        )
    if found.urls is not None:
        urls = expected_urls(org)
        missed, extra = urls - found.urls, found.urls - urls
        rules = sum(1 for url in urls if url[5])
        private = sum(1 for url in urls if url[6] == "vpc_only")
        print(
            f"  custom domain URLs   {len(found.urls & urls)} of {len(urls)} ({rules} asking "
            f"for headers, {private} VPC only; missing {len(missed)}, unexpected {len(extra)})"
        )
        if missed or extra:
            problems.append(
                f"custom domain URLs: missing {sorted(missed, key=str)[:3]}, "
                f"unexpected {sorted(extra, key=str)[:3]}"
            )
    if found.management is not None:
        print(f"  management account   {sorted(found.management)}")
        if found.management != {org.management_account_id}:
            problems.append(
                f"management account: {sorted(found.management)}, the organization's is "
                f"{org.management_account_id}"
            )
    print(f"  errors               {len(found.errors)} {found.errors[:3]}")
    if found.errors:
        problems.append(f"{len(found.errors)} errors: {found.errors[:3]}")
    print(f"  calls made           {run.calls}")
    print(f"  wall time            {run.wall:.2f} s")
    print(f"  calls per second     {run.calls / run.wall:.0f}")
    print(f"  CPU                  {run.cpu:.2f} s ({run.cpu / run.calls * 1000:.2f} ms per call)")
    print(f"  throttled (429)      {run.throttled}")
    print(f"  peak memory (RSS)    {run.peak_rss_mb:.0f} MB")
    if terms:
        best = max(terms.values())
        print(
            f"  floor                {best:.2f} s = max(chain {terms['chain']:.2f}, "
            f"calls x latency / in flight {terms['throughput']:.2f}, "
            f"busiest account-region quota {terms['quota']:.2f})"
        )
        print(f"  wall / floor         {run.wall / best:.2f}")
    plan = discovery_calls(org) if check else Counter[str]()
    print("  calls by operation" + ("   made   expected" if check else "   made"))
    for operation in sorted(set(run.by_operation) | set(plan)):
        made = run.by_operation[operation]
        line = f"    {operation:<40} {made:>6}"
        if check:
            line += f" {plan[operation]:>10}"
            if made != plan[operation]:
                line += "  <- differs"
                problems.append(f"{operation}: {made} calls, {plan[operation]} expected")
        print(line)
    return problems if check else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--in-flight", type=int, default=64, help="engine requests in flight")
    parser.add_argument("--repeat", type=int, default=1, help="engine runs (median reported)")
    parser.add_argument("--skip-common", action="store_true")
    parser.add_argument("--skip-summary", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--delegated-admin",
        action="store_true",
        help="the central role in a delegated administrator's account, not the management's",
    )
    args = parser.parse_args()
    latency = args.latency_ms / 1000

    org = build_organization(
        args.accounts, args.regions, seed=args.seed, delegated_admin=args.delegated_admin
    )
    expected = {
        api.api_id
        for (account_id, _), apis in org.apis.items()
        for api in apis
        if account_id in {a.account_id for a in org.reachable_accounts()}
    }
    print(
        f"organization: {args.accounts} accounts x {args.regions} regions, {len(expected)} APIs; "
        f"latency {args.latency_ms:.0f} ms; quota {QUOTA_RATE:.0f}/s burst {QUOTA_BURST:.0f} "
        f"per account-region; engine in flight {args.in_flight}; {os.cpu_count()} CPUs"
    )
    domains = sum(len(d) for d in org.domains.values())
    ruled = sum(1 for ds in org.domains.values() for d in ds if d.uses_rules)
    private = sum(1 for ds in org.domains.values() for d in ds if d.private)
    print(
        f"custom domains: {domains}, {ruled} with routing rules, {private} private; central role "
        f"in {'a delegated administrator' if args.delegated_admin else 'the management account'}"
    )
    with SimulatedEndpoint(
        latency=latency,
        accounts=args.accounts,
        regions=args.regions,
        seed=args.seed,
        delegated_admin=args.delegated_admin,
    ) as endpoint:
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint.url,
            AWS_ACCESS_KEY_ID=PLATFORM_ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY=PLATFORM_SECRET_ACCESS_KEY,
            AWS_DEFAULT_REGION="us-east-1",
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        runs = [
            _measure("engine", endpoint, lambda: engine_strategy(org, args.in_flight))
            for _ in range(args.repeat)
        ]
        runs.sort(key=lambda r: r.wall)
        engine = runs[len(runs) // 2]
        if len(runs) > 1:
            print(
                f"engine wall times: {[round(r.wall, 2) for r in runs]}, median {engine.wall:.2f}"
            )
            print(f"  median CPU {statistics.median(r.cpu for r in runs):.2f} s")
        problems = report(
            engine, org, expected, floor(engine, org, latency, args.in_flight), check=True
        )
        if not args.skip_summary:
            summary = _measure(
                "APIs by region (api-summary: listings only)",
                endpoint,
                lambda: summary_strategy(org, args.in_flight),
            )
            problems += summary_report(
                summary, engine, org, expected, floor(summary, org, latency, args.in_flight)
            )
        if not args.skip_common:
            common = _measure("common strategy", endpoint, lambda: common_strategy(org))
            report(common, org, expected, None, check=False)
            print(f"\nengine is {common.wall / engine.wall:.1f}x faster than the common strategy")
    if problems:
        print("\nNOT AS EXPECTED (engine):")
        for problem in problems:
            print(f"  {problem}")
        raise SystemExit(1)
    print("\ncheck: the engine found every API and custom domain URL, with the calls expected")


if __name__ == "__main__":
    main()
