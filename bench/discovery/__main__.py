"""Discovery benchmark: the engine against the strategy common tools use, on one organization.

    python -m bench.discovery                      # 200 accounts x 17 regions, 50 ms latency
    python -m bench.discovery --accounts 1000
    python -m bench.discovery --skip-common        # only the engine

Both strategies talk HTTP to the same simulated AWS endpoint (bench/discovery/simulated_aws.py,
in its own process) through the standard AWS_ENDPOINT_URL, with the central-role flow: assume the
central role, list the organization (pages of 20), assume the child role in each account, list
REST, HTTP and WebSocket APIs with their stages and custom domains in every region.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.discovery.organization import SimOrganization, build_organization
from bench.discovery.simulated_aws import (
    PLATFORM_ACCESS_KEY_ID,
    PLATFORM_SECRET_ACCESS_KEY,
    QUOTA_BURST,
    QUOTA_RATE,
    SimulatedEndpoint,
)

PLATFORM_PRINCIPAL = "arn:aws:iam::999999999999:user/bench"
EXTERNAL_ID = "bench-external-id"


@dataclass
class Run:
    name: str
    wall: float
    cpu: float
    calls: int
    throttled: int
    busiest: int
    found: set[str]
    errors: list[str]
    peak_rss_mb: float


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(
    name: str, endpoint: SimulatedEndpoint, work: Callable[[], tuple[set[str], list[str]]]
) -> Run:
    endpoint.reset()
    wall, cpu = time.perf_counter(), time.process_time()
    found, errors = work()
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
        errors=errors,
        peak_rss_mb=_rss_mb(),
    )


# ------------------------------------------------------------------------------ the engine
def engine_strategy(org: SimOrganization, in_flight: int) -> tuple[set[str], list[str]]:
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
    result = engine.discover(spec, context, regions=org.regions)
    errors = [f"{o.account_id}/{o.region}: {o.error.code}" for o in result.outcomes if o.error]
    print(f"  engine: botocore met {engine.clients.throttles} throttled answers and retried them")
    return {api.api_id for api in result.apis}, errors


# ------------------------------------------------------------------------------ common tools
def common_strategy(org: SimOrganization) -> tuple[set[str], list[str]]:
    """One account at a time; in each, ten threads across the regions, boto3 defaults."""
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
                        v1.get_base_path_mappings(domainName=d["domainName"])
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
    return found, errors


# ------------------------------------------------------------------------------ report
def floor(run: Run, org: SimOrganization, latency: float, in_flight: int) -> dict[str, float]:
    pages = math.ceil(len(org.accounts) / 20)
    # ListAccounts pages -> AssumeRole -> GetRestApis -> GetStages -> GetBasePathMappings
    # (GetDomainNames can run beside GetStages).
    chain = (pages + 1 + 3) * latency
    throughput = run.calls * latency / in_flight
    quota = max(0.0, run.busiest - QUOTA_BURST) / QUOTA_RATE
    return {"chain": chain, "throughput": throughput, "quota": quota}


def report(run: Run, expected: set[str], terms: dict[str, float] | None) -> None:
    missing = expected - run.found
    print(f"\n{run.name}")
    print(f"  APIs found           {len(run.found)} of {len(expected)} (missing {len(missing)})")
    print(f"  errors               {len(run.errors)} {run.errors[:3]}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--regions", type=int, default=17)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--in-flight", type=int, default=64, help="engine requests in flight")
    parser.add_argument("--repeat", type=int, default=1, help="engine runs (median reported)")
    parser.add_argument("--skip-common", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    latency = args.latency_ms / 1000

    org = build_organization(args.accounts, args.regions, seed=args.seed)
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
    with SimulatedEndpoint(
        latency=latency, accounts=args.accounts, regions=args.regions, seed=args.seed
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
        report(engine, expected, floor(engine, org, latency, args.in_flight))
        if not args.skip_common:
            common = _measure("common strategy", endpoint, lambda: common_strategy(org))
            report(common, expected, None)
            print(f"\nengine is {common.wall / engine.wall:.1f}x faster than the common strategy")


if __name__ == "__main__":
    main()
