"""The `onboarder` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from app.core.config import Settings, get_settings
from app.core.db import Database
from app.core.errors import DomainError
from app.core.security import DecryptionError, EncryptionNotConfiguredError

if TYPE_CHECKING:
    from app.main import Background


def _database(settings: Settings) -> Database:
    if settings.auto_migrate:
        from app.core.migrations import upgrade

        upgrade(settings.database_url)
    return Database.for_settings(settings)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core.logging import configure_logging
    from app.main import create_app

    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    try:
        app = create_app(settings, configure_logs=False, background=_embedded_scheduler(settings))
    except EncryptionNotConfiguredError as exc:
        print(f"onboarder: cannot start: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=args.host or settings.host,
        port=args.port or settings.port,
        log_config=None,
        proxy_headers=True,
    )
    return 0


def _embedded_scheduler(settings: Settings) -> Background | None:
    """The auto-onboard scheduler inside `serve`, unless separate processes run it."""
    if not settings.embedded_scheduler:
        return None
    # The CLI is where the pieces are put together: the one place in app/ that may know the
    # scheduler process (app.schedules holds the work; scheduler/ only wires APScheduler to it).
    from scheduler.process import embedded  # noqa: TID251

    return embedded


def cmd_scheduler(_args: argparse.Namespace) -> int:
    from app.core.logging import configure_logging
    from app.core.migrations import upgrade
    from app.core.security import build_secret_box
    from scheduler.process import run  # noqa: TID251 - see _embedded_scheduler

    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    box = build_secret_box(settings)
    if settings.auto_migrate:
        upgrade(settings.database_url)
    return run(settings, box)


def cmd_migrate(args: argparse.Namespace) -> int:
    from app.core.migrations import downgrade, upgrade

    settings = get_settings()
    if args.revision.startswith("-") or args.downgrade:
        downgrade(settings.database_url, args.revision)
    else:
        upgrade(settings.database_url, args.revision)
    print(f"database at {args.revision}")
    return 0


def cmd_tenants_create(args: argparse.Namespace) -> int:
    from app.tenants import service

    settings = get_settings()
    database = _database(settings)
    with database.session() as session:
        tenant, issued = service.create_tenant(session=session, name=args.name)
        print(f"tenant_id:   {tenant.id}")
        print(f"external_id: {tenant.external_id}")
        print(f"key_id:      {issued.api_key.key_id}")
        print(f"api_key:     {issued.plaintext}")
    print("The API key is shown only this once: store it now.", file=sys.stderr)
    return 0


def cmd_tenants_list(_args: argparse.Namespace) -> int:
    from app.tenants import service

    with _database(get_settings()).session() as session:
        for tenant in service.list_tenants(session=session):
            print(f"{tenant.id}  {tenant.name}  external_id={tenant.external_id}")
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from app.tenants import service

    with _database(get_settings()).session() as session:
        tenant = service.find_tenant(session=session, ref=args.tenant)
        issued = service.create_api_key(session=session, tenant=tenant, label=args.label)
        print(f"key_id:  {issued.api_key.key_id}")
        print(f"api_key: {issued.plaintext}")
    print("The API key is shown only this once: store it now.", file=sys.stderr)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    from app.tenants import service

    with _database(get_settings()).session() as session:
        tenant = service.find_tenant(session=session, ref=args.tenant)
        for key in service.list_api_keys(session=session, tenant_id=tenant.id):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%dT%H:%M}Z" if key.last_used_at else "never"
            print(f"{key.key_id}  {state}  last used {used}  {key.label or ''}".rstrip())
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    from app.tenants import service

    with _database(get_settings()).session() as session:
        key = service.revoke_api_key(session=session, key_id=args.key_id)
        print(f"revoked {key.key_id}")
    return 0


def cmd_keys_generate_encryption_key(_args: argparse.Namespace) -> int:
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())
    return 0


def cmd_keys_rotate_encryption(_args: argparse.Namespace) -> int:
    from app.connections.service import reencrypt_all
    from app.core.security import build_secret_box

    settings = get_settings()
    box = build_secret_box(settings)
    with _database(settings).session() as session:
        count = reencrypt_all(session=session, secret_box=box)
    print(f"re-encrypted {count} secret(s) under the newest key; older keys can now be removed")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from app.demo import run_demo

    return run_demo(host=str(args.host), port=int(args.port))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onboarder",
        description="Discovers Amazon API Gateway APIs and onboards them for security testing.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", help="bind address (default ONBOARDER_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default ONBOARDER_PORT, 8000)")
    serve.set_defaults(func=cmd_serve)

    scheduler = sub.add_parser(
        "scheduler",
        help="run the auto-onboard scheduler (production: one or more beside the API processes)",
    )
    scheduler.set_defaults(func=cmd_scheduler)

    migrate = sub.add_parser("migrate", help="upgrade the database schema (to head by default)")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.add_argument("--downgrade", action="store_true", help="downgrade to REVISION")
    migrate.set_defaults(func=cmd_migrate)

    tenants = sub.add_parser("tenants", help="manage tenants").add_subparsers(
        dest="tenants_command", required=True, metavar="ACTION"
    )
    create = tenants.add_parser("create", help="create a tenant and print its first API key")
    create.add_argument("name")
    create.set_defaults(func=cmd_tenants_create)
    tenants.add_parser("list", help="list tenants").set_defaults(func=cmd_tenants_list)

    keys = sub.add_parser("keys", help="manage API keys").add_subparsers(
        dest="keys_command", required=True, metavar="ACTION"
    )
    key_create = keys.add_parser("create", help="create an API key for a tenant (id or name)")
    key_create.add_argument("tenant")
    key_create.add_argument("--label")
    key_create.set_defaults(func=cmd_keys_create)
    key_list = keys.add_parser("list", help="list a tenant's API keys (never the keys themselves)")
    key_list.add_argument("tenant")
    key_list.set_defaults(func=cmd_keys_list)
    key_revoke = keys.add_parser("revoke", help="revoke an API key by its key id")
    key_revoke.add_argument("key_id")
    key_revoke.set_defaults(func=cmd_keys_revoke)
    keys.add_parser(
        "generate-encryption-key", help="print a new key for ONBOARDER_ENCRYPTION_KEYS"
    ).set_defaults(func=cmd_keys_generate_encryption_key)
    keys.add_parser(
        "rotate-encryption",
        help="re-encrypt every stored secret under the first of ONBOARDER_ENCRYPTION_KEYS",
    ).set_defaults(func=cmd_keys_rotate_encryption)

    demo = sub.add_parser("demo", help="run the service against a simulated AWS organization")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except DomainError as exc:
        print(f"onboarder: {exc.detail}", file=sys.stderr)
        return 1
    except (EncryptionNotConfiguredError, DecryptionError) as exc:
        print(f"onboarder: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
