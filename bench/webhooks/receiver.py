"""The three webhook receivers, in a process of their own (so they do not take the
benchmark's GIL), and the handle the benchmark drives them with.

    python -m bench.webhooks.receiver --slow-seconds 2    # prints its port, then serves

One asyncio HTTP/1.1 server on 127.0.0.1 (keep-alive, as httpx uses it) with three paths:
`/healthy` answers 200 at once, `/slow` answers 200 after --slow-seconds, `/failing` answers
500 at once. Every POST to them is verified with the `standardwebhooks` library against the
secret of its path (as a real receiver would) and counted: requests, verified, distinct
`webhook-id`s (a repeat is a retry), the most in flight at once. `/probe` answers 200 at once
and counts nothing (the round trip the floor is made of). Control: POST `/__secrets` with
{path: secret}, GET `/__counts`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

HEALTHY, SLOW, FAILING = "healthy", "slow", "failing"
PATHS = (HEALTHY, SLOW, FAILING)
PROBE = "probe"
_REASONS = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}
START_TIMEOUT = 30.0


# ------------------------------------------------------------------------------ the server
@dataclass
class PathCounts:
    received: int = 0
    verified: int = 0
    unverified: int = 0
    ids: set[str] = field(default_factory=set)
    in_flight: int = 0
    max_in_flight: int = 0
    first_error: str = ""
    first_at: float = 0.0  # time.time() of the first and the latest request
    last_at: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "verified": self.verified,
            "unverified": self.unverified,
            "distinct": len(self.ids),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "first_error": self.first_error,
            "first_at": self.first_at,
            "last_at": self.last_at,
        }


class Receivers:
    def __init__(self, slow_seconds: float) -> None:
        self.slow_seconds = slow_seconds
        self.verifiers: dict[str, Webhook] = {}
        self.counts = {path: PathCounts() for path in PATHS}
        self.unknown = 0

    async def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        path = target.split("?", 1)[0].strip("/")
        if method == "POST" and path in self.counts:
            return await self._deliver(path, headers, body)
        if method == "POST" and path == PROBE:
            return 200, b""
        if method == "GET" and path == "__counts":
            counts = {name: counts.as_json() for name, counts in self.counts.items()}
            return 200, json.dumps({"paths": counts, "unknown": self.unknown}).encode()
        if method == "POST" and path == "__secrets":
            secrets: dict[str, str] = json.loads(body)
            self.verifiers = {name: Webhook(secret) for name, secret in secrets.items()}
            self.counts = {name: PathCounts() for name in PATHS}
            self.unknown = 0
            return 200, b"{}"
        self.unknown += 1
        return 404, b""

    async def _deliver(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        counts = self.counts[path]
        counts.received += 1
        counts.last_at = time.time()
        counts.first_at = counts.first_at or counts.last_at
        counts.ids.add(headers.get("webhook-id", ""))
        counts.in_flight += 1
        counts.max_in_flight = max(counts.max_in_flight, counts.in_flight)
        try:
            verifier = self.verifiers.get(path)
            try:
                if verifier is None:
                    raise WebhookVerificationError("no secret for this path")
                verifier.verify(body, headers, json_parse=False)
            except WebhookVerificationError as exc:
                counts.unverified += 1
                counts.first_error = counts.first_error or str(exc)
            else:
                counts.verified += 1
            if path == SLOW:
                await asyncio.sleep(self.slow_seconds)
            return (500 if path == FAILING else 200), b""
        finally:
            counts.in_flight -= 1

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                request, *lines = head.split("\r\n")
                method, target, _version = request.split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines:
                    if line:
                        name, _, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                status, payload = await self.answer(method, target, headers, body)
                writer.write(
                    f"HTTP/1.1 {status} {_REASONS[status]}\r\ncontent-length: {len(payload)}\r\n"
                    "content-type: application/json\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the sender closed the connection (or gave up on the slow path)
        finally:
            writer.close()


async def serve(slow_seconds: float) -> None:
    receivers = Receivers(slow_seconds)
    server = await asyncio.start_server(receivers.connection, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description="the webhooks benchmark's receivers")
    parser.add_argument("--slow-seconds", type=float, default=2.0)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.slow_seconds))


# ------------------------------------------------------------------------------ the handle
@dataclass(frozen=True)
class Counts:
    """What one path received so far."""

    received: int
    verified: int
    unverified: int
    distinct: int
    in_flight: int
    max_in_flight: int
    first_error: str
    first_at: float
    last_at: float

    @property
    def repeats(self) -> int:
        return self.received - self.distinct


class ReceiverProcess:
    """`python -m bench.webhooks.receiver` as a child process, for a `with` block."""

    def __init__(self, slow_seconds: float) -> None:
        self.slow_seconds = slow_seconds
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self._control = httpx.Client(timeout=10.0)

    def __enter__(self) -> ReceiverProcess:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.webhooks.receiver",
                "--slow-seconds",
                str(self.slow_seconds),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if not line.isdigit():
            self.__exit__(None, None, None)
            raise RuntimeError(f"the receiver did not start (it said {line!r})")
        self.base_url = f"http://127.0.0.1:{line}"
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self._control.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def configure(self, secrets: dict[str, str]) -> None:
        """Verify each path's deliveries with its endpoint's secret; counts start again."""
        self._control.post(self.url("__secrets"), json=secrets).raise_for_status()

    def counts(self) -> dict[str, Counts]:
        response = self._control.get(self.url("__counts"))
        response.raise_for_status()
        return {name: Counts(**values) for name, values in response.json()["paths"].items()}


if __name__ == "__main__":
    main()
