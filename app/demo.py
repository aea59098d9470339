"""`onboarder demo`: the service against a simulated AWS organization, on one machine."""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.integrations.aws.demo_organization import SeededFailures, SeededOrganization

DEMO_TENANT = "demo"


def curl_lines(*, base_url: str, api_key: str, central_role_arn: str) -> list[str]:
    """Ready-to-paste commands that work against a running demo (the tests run them too)."""
    auth = shlex.quote(f"Authorization: Bearer {api_key}")
    json_header = shlex.quote("Content-Type: application/json")
    central = json.dumps({"credential_type": "central_role", "central_role_arn": central_role_arn})
    named = json.dumps(
        {
            "name": "demo organization",
            "credential_type": "central_role",
            "central_role_arn": central_role_arn,
        }
    )
    return [
        f"curl -s {base_url}/healthz",
        f"curl -s -H {auth} {base_url}/api/v1/tenant",
        f"curl -s -H {auth} {base_url}/api/v1/aws/setup",
        f"curl -s -H {auth} -H {json_header} -d {shlex.quote(central)} "
        f"{base_url}/api/v1/connections/test",
        f"curl -s -H {auth} -H {json_header} -d {shlex.quote(named)} {base_url}/api/v1/connections",
        f"curl -s -H {auth} {base_url}/api/v1/connections",
    ]


def port_problem(host: str, port: int) -> str | None:
    """Why the demo could not serve on ``host:port``, found before minutes of seeding."""
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        return (
            f"onboarder demo: cannot serve on {host}:{port} ({error.strerror or error}); "
            "choose another port with --port (or another address with --host)"
        )
    return None


def _banner(
    *,
    base_url: str,
    api_key: str,
    org: SeededOrganization,
    failures: SeededFailures,
    moto_url: str,
    workdir: Path,
) -> str:
    members = ", ".join(
        f"{name} {account_id}"
        for name, account_id in zip(org.member_account_names, org.member_account_ids, strict=True)
    )
    lines = [
        "",
        "Onboarder demo",
        f"  Console:            {base_url}/",
        f"  API docs:           {base_url}/api/v1/docs",
        f"  API key (tenant '{DEMO_TENANT}'): {api_key}",
        f"  simulated AWS:      {moto_url} (moto)",
        f"  data directory:     {workdir} (deleted on exit)",
        "",
        "The simulated organization:",
        f"  management account  {org.management_account_id}",
        f"  central role        {org.central_role_arn}",
        f"  member accounts     {members} (each with role {org.child_role_name})",
        f"  regions             {', '.join(org.regions)}",
        f"  APIs                {len(org.apis)}",
        "",
        "Connect with each credential type (Integrations > New Connection):",
        f"  central_role        {org.central_role_arn}",
        f"  assume_role role    {org.assume_role_arn}",
        f"  aws_user            access key id {org.user_access_key_id}",
        f"                      secret access key {org.user_secret_access_key}",
        f"                      (IAM user of shop-staging {org.user_account_id}, which has APIs)",
        "",
        "What fails, as it would in AWS:",
        f"  account {failures.refusing_account_name} {failures.refusing_account_id}: its "
        f"{org.child_role_name} trusts another role, so the central role cannot reach it",
        f"  role {failures.unassumable_role_arn}",
        "                      trusts another vendor's external id: a connection to it fails",
        "",
        "Try:",
        *(
            f"  {line}"
            for line in curl_lines(
                base_url=base_url, api_key=api_key, central_role_arn=org.central_role_arn
            )
        ),
        "",
        "Stop with Ctrl+C.",
        "",
    ]
    return "\n".join(lines)


def run_demo(*, host: str, port: int) -> int:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        print("onboarder demo needs moto: pip install 'onboarder[demo]'", file=sys.stderr)
        return 2

    problem = port_problem(host, port)
    if problem:
        print(problem, file=sys.stderr)
        return 2

    import uvicorn

    from app.core.config import LogFormat, Mode, Settings
    from app.core.db import Database
    from app.core.logging import configure_logging
    from app.core.migrations import upgrade
    from app.integrations.aws.demo_organization import seed_demo_failures, seed_demo_organization
    from app.integrations.aws.demo_trust import enforce_trust_policies
    from app.integrations.aws.platform import platform_principal_arn
    from app.main import create_app
    from app.tenants import service

    workdir = Path(tempfile.mkdtemp(prefix="onboarder-demo-"))
    # moto would otherwise build thousands of fake AMIs per EC2 region it touches.
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        moto_host, moto_port = moto.get_host_and_port()
        moto_url = f"http://{moto_host}:{moto_port}"
        # The standard variables every AWS SDK reads: the service's code takes the same path
        # it takes against real AWS.
        os.environ["AWS_ENDPOINT_URL"] = moto_url
        os.environ["AWS_ACCESS_KEY_ID"] = "testing"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 - moto's dummy credentials
        os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            os.environ.pop(variable, None)

        from cryptography.fernet import Fernet

        settings = Settings(
            mode=Mode.EMBEDDED,
            data_dir=workdir,
            database_url=f"sqlite:///{workdir / 'onboarder.db'}",
            # A throwaway key for a throwaway database.
            encryption_keys=[Fernet.generate_key().decode()],
            log_format=LogFormat(os.environ.get("ONBOARDER_LOG_FORMAT", "text")),
            log_level=os.environ.get("ONBOARDER_LOG_LEVEL", "INFO"),
            # A run asked for in the demo starts within two seconds.
            scheduler_poll_seconds=float(os.environ.get("ONBOARDER_SCHEDULER_POLL_SECONDS", "2")),
        )
        configure_logging(log_format=settings.log_format, level=settings.log_level)
        for chatty in ("werkzeug", "alembic"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
        upgrade(settings.database_url)
        database = Database.for_settings(settings)
        with database.session() as session:
            tenant, issued = service.create_tenant(session=session, name=DEMO_TENANT)
            external_id = tenant.external_id
        database.dispose()

        org = seed_demo_organization(
            platform_principal_arn=platform_principal_arn(), external_id=external_id
        )
        failures = seed_demo_failures(org, platform_principal_arn=platform_principal_arn())
        # From now on the simulated AWS refuses what the roles' trust policies refuse.
        enforce_trust_policies()
        # The scheduler runs in-process, as in `onboarder serve`: run-now works in the demo.
        from scheduler.process import embedded  # noqa: TID251 - the demo puts pieces together

        app = create_app(settings, configure_logs=False, background=embedded)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None))
        thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                print(
                    f"onboarder demo: could not serve on {host}:{port}; "
                    "choose another port with --port",
                    file=sys.stderr,
                )
                return 1
            time.sleep(0.05)
        # Only now, so that every printed line works the moment it is read.
        print(
            _banner(
                base_url=f"http://{host}:{port}",
                api_key=issued.plaintext,
                org=org,
                failures=failures,
                moto_url=moto_url,
                workdir=workdir,
            ),
            flush=True,
        )
        # uvicorn only installs its own signal handlers in the main thread; it runs in another.
        for stop_signal in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop_signal, lambda *_: setattr(server, "should_exit", True))
        while thread.is_alive():
            thread.join(timeout=0.5)
        return 0
    finally:
        moto.stop()
        shutil.rmtree(workdir, ignore_errors=True)
