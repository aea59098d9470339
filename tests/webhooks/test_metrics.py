"""What an operator sees of deliveries on /metrics: attempts by outcome, and how old the
oldest pending delivery is."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from scheduler.process import build
from tests.conftest import TenantWithKey
from tests.webhooks.conftest import Receiver, add_webhook, deliver_all

WEBHOOKS = "/api/v1/webhooks"


def metric(client: TestClient, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {line_start} in /metrics")


def test_the_embedded_schedulers_deliveries_show_on_metrics(
    app: FastAPI, client: TestClient, tenant: TenantWithKey, make_receiver: Callable[[], Receiver]
) -> None:
    ok, failing = make_receiver(), make_receiver()
    failing.answers = [500]
    good = add_webhook(client, tenant, ok)
    bad = add_webhook(client, tenant, failing)
    client.post(f"{WEBHOOKS}/{good['id']}/test", headers=tenant.headers)
    client.post(f"{WEBHOOKS}/{bad['id']}/test", headers=tenant.headers)
    scheduler = build(
        app.state.settings,
        app.state.db,
        app.state.secret_box,
        engine=app.state.discovery,
        metrics=app.state.metrics,
    )
    try:
        deliver_all(scheduler.deliverer)
        delivered = 'onboarder_webhook_delivery_attempts_total{outcome="delivered"}'
        retried = 'onboarder_webhook_delivery_attempts_total{outcome="failed_attempt"}'
        assert metric(client, delivered) == 1
        assert metric(client, retried) == 1
        # The failing receiver's delivery waits for its next attempt (in 5 s): it is pending.
        time.sleep(1.05)  # the gauge is measured at most once a second
        assert scheduler.deliverer.poll() == 0
        assert metric(client, "onboarder_webhook_oldest_pending_seconds") > 1
        # Retried now and delivered: nothing is pending any more.
        failing.answers = [200]
        [delivery] = client.get(
            f"{WEBHOOKS}/{bad['id']}/deliveries", headers=tenant.headers
        ).json()["items"]
        client.post(
            f"{WEBHOOKS}/{bad['id']}/deliveries/{delivery['event_id']}/retry",
            headers=tenant.headers,
        )
        deliver_all(scheduler.deliverer)
        time.sleep(1.05)
        scheduler.deliverer.poll()
        assert metric(client, "onboarder_webhook_oldest_pending_seconds") == 0
        assert metric(client, delivered) == 2
    finally:
        scheduler.deliverer.stop()
