"""A local receiver that verifies every delivery with the `standardwebhooks` library (as a
real receiver would), and the delivery worker as a scheduler process runs it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from app.core.config import Settings
from app.core.db import Database
from app.core.security import build_secret_box
from app.webhooks.delivery import Deliverer
from tests.conftest import TenantWithKey


@dataclass
class Received:
    webhook_id: str
    body: dict[str, Any]
    verified: bool
    headers: dict[str, str]


@dataclass
class Receiver:
    """Answers each POST with the next status of `answers` (the last one repeats); a status of
    0 never answers in time (it waits `hang_seconds`)."""

    url: str = ""
    secret: str | None = None
    answers: list[int] = field(default_factory=lambda: [200])
    hang_seconds: float = 2.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> int:
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def verify(self, raw: bytes, headers: dict[str, str]) -> bool:
        if self.secret is None:
            return False
        try:
            Webhook(self.secret).verify(raw, headers)
        except WebhookVerificationError:
            return False
        return True

    def of_type(self, type_: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.body.get("type") == type_]


@pytest.fixture
def make_receiver() -> Iterator[Callable[[], Receiver]]:
    servers: list[ThreadingHTTPServer] = []

    def factory() -> Receiver:
        state = Receiver()
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
        server.daemon_threads = True
        state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return state

    yield factory
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver(make_receiver: Callable[[], Receiver]) -> Receiver:
    return make_receiver()


def _handler(state: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with state.lock:
                state.received.append(
                    Received(
                        webhook_id=headers.get("webhook-id", ""),
                        body=json.loads(raw),
                        verified=state.verify(raw, headers),
                        headers=headers,
                    )
                )
            status = state.next_answer()
            if status == 0:
                time.sleep(state.hang_seconds)
                status = 200
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def add_webhook(
    client: TestClient, tenant: TenantWithKey, receiver: Receiver, **body: Any
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/webhooks", json={"url": receiver.url, **body}, headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secret = created["secret"]
    return created


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


DelivererFactory = Callable[..., Deliverer]


@pytest.fixture
def make_deliverer(settings: Settings, database: Database) -> Iterator[DelivererFactory]:
    made: list[Deliverer] = []

    def factory(**overrides: Any) -> Deliverer:
        options: dict[str, Any] = {
            "database": database,
            "box": build_secret_box(settings),
            "worker": f"test-worker-{len(made)}",
            "production": False,
            "timeout_seconds": 1.0,
            "threads": 8,
            "per_endpoint": 4,
            "poll_seconds": 0.05,
        }
        options.update(overrides)
        deliverer = Deliverer(**options)
        made.append(deliverer)
        return deliverer

    yield factory
    for deliverer in made:
        deliverer.stop()


def deliver_all(deliverer: Deliverer, rounds: int = 20) -> None:
    """Claim and attempt until nothing due is left (as the worker's loop does)."""
    for _ in range(rounds):
        claimed = deliverer.poll()
        deliverer.drain()
        if not claimed:
            return
