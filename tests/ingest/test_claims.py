"""Triggers are debounced per API and claimed once, whatever the number of schedulers.

No AWS here: the triggers are written as the ingest endpoint writes them, and claimed as the
scheduler's loop claims them (`ingest.claim_due`), with the clock given.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.core.db import Database
from app.ingest import cloudtrail
from app.ingest import service as ingest
from app.lifecycle.targeted import Outcome
from app.models import Connection, IngestToken
from tests.conftest import TenantWithKey
from tests.discovery.conftest import create_connection

START = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
DEBOUNCE, MAX_DELAY = timedelta(seconds=15), timedelta(seconds=120)


def connection(client: TestClient, tenant: TenantWithKey) -> uuid.UUID:
    return uuid.UUID(
        create_connection(
            client,
            tenant,
            credential_type="aws_user",
            access_key_id="AKIAIOSFODNN7EXAMPLE",
            secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
    )


def receive(
    database: Database, connection_id: uuid.UUID, api_id: str, at: datetime, count: int = 1
) -> None:
    """What the ingest endpoint records for `count` change events of one API at `at`."""
    with database.session() as session:
        token = session.get(IngestToken, connection_id)
        if token is None:
            tenant_id = session.get_one(Connection, connection_id).tenant_id
            token = IngestToken(
                connection_id=connection_id, tenant_id=tenant_id, token_hash=uuid.uuid4().hex
            )
            session.add(token)
            session.flush()
        changes = [
            cloudtrail.Change(
                event_id=uuid.uuid4().hex,
                event_name="CreateDeployment",
                event_time=at,
                account_id="111122223333",
                region="us-east-1",
                kind=cloudtrail.API,
                name=api_id,
            )
            for _ in range(count)
        ]
        ingest.record(session=session, token=token, changes=changes, now=at)


def claim(database: Database, at: datetime, worker: str = "w1") -> list[ingest.Group]:
    return ingest.claim_due(database, worker=worker, now=at, debounce=DEBOUNCE, max_delay=MAX_DELAY)


def test_an_api_is_claimed_once_it_has_been_quiet_for_the_debounce_window(
    client: TestClient, tenant: TenantWithKey, database: Database
) -> None:
    connection_id = connection(client, tenant)
    receive(database, connection_id, "aaaa111111", START, count=5)
    receive(database, connection_id, "aaaa111111", START + timedelta(seconds=10), count=5)
    receive(database, connection_id, "bbbb222222", START, count=3)

    assert [g.target for g in claim(database, START + timedelta(seconds=16))] == ["api:bbbb222222"]
    assert claim(database, START + timedelta(seconds=24)) == []
    [group] = claim(database, START + timedelta(seconds=26))
    assert (group.target, len(group.trigger_ids)) == ("api:aaaa111111", 10)
    assert claim(database, START + timedelta(minutes=5)) == []


def test_an_api_that_never_goes_quiet_is_synced_after_the_longest_delay(
    client: TestClient, tenant: TenantWithKey, database: Database
) -> None:
    connection_id = connection(client, tenant)
    for second in range(0, 125, 5):
        now = START + timedelta(seconds=second)
        receive(database, connection_id, "aaaa111111", now)
        claimed = claim(database, now)
        if second < 120:
            assert claimed == [], second
    assert [len(group.trigger_ids) for group in claimed] == [25]


def test_two_schedulers_claiming_at_once_sync_each_api_once(
    client: TestClient, tenant: TenantWithKey, database: Database
) -> None:
    connection_id = connection(client, tenant)
    for number in range(30):
        receive(database, connection_id, f"api{number:07d}", START, count=3)
    later = START + timedelta(minutes=1)
    results: dict[str, list[ingest.Group]] = {}

    def scheduler(name: str) -> Callable[[], None]:
        def run() -> None:
            claimed: list[ingest.Group] = []
            while groups := claim(database, later, worker=name):
                claimed.extend(groups)
            results[name] = claimed

        return run

    threads = [threading.Thread(target=scheduler(name)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    claimed = [group for groups in results.values() for group in groups]
    assert sorted(group.target for group in claimed) == [f"api:api{n:07d}" for n in range(30)]
    trigger_ids = [i for group in claimed for i in group.trigger_ids]
    assert len(trigger_ids) == len(set(trigger_ids)) == 90


def test_a_claim_whose_process_died_is_pending_again_and_old_triggers_go(
    client: TestClient, tenant: TenantWithKey, database: Database
) -> None:
    connection_id = connection(client, tenant)
    receive(database, connection_id, "aaaa111111", START)
    [group] = claim(database, START + timedelta(minutes=1), worker="died")
    timeout = timedelta(minutes=6)

    assert ingest.release_stale(database, now=START + timedelta(minutes=5), timeout=timeout) == 0
    assert ingest.release_stale(database, now=START + timedelta(minutes=8), timeout=timeout) == 1
    [again] = claim(database, START + timedelta(minutes=8), worker="alive")
    assert again.trigger_ids == group.trigger_ids
    # The dead process's late result is not written over the living one's claim.
    done = Outcome(status="done", outcome="synced")
    assert ingest.finish(database, group, done, worker="died", now=START) == 0
    assert ingest.finish(database, again, done, worker="alive", now=START) == 1

    keep = timedelta(days=7)
    assert ingest.prune(database, now=START + timedelta(days=6), keep=keep) == 0
    assert ingest.prune(database, now=START + timedelta(days=8), keep=keep) == 1
