"""Start `onboarder demo` in its own process and read what its banner says (shared by the
demo's own tests and the console's browser tests)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

START_TIMEOUT_SECONDS = 120


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Demo:
    base_url: str
    api_key: str
    banner: str
    central_role_arn: str
    assume_role_arn: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.base_url}/api/v1{path}", headers=self.headers, timeout=60, **kwargs
        )


@contextmanager
def running_demo(tmp_dir: Path, *, env: dict[str, str] | None = None) -> Iterator[Demo]:
    """`onboarder demo` on a free port, against moto's server; stopped (and checked to have
    cleaned up after itself) on exit."""
    port = free_port()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("ONBOARDER_")
    }
    environment["TMPDIR"] = str(tmp_dir)
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=environment,
    )
    data_dir = None
    try:
        assert process.stdout is not None
        banner: list[str] = []
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        for line in process.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("Stop with") or time.monotonic() > deadline:
                break
        text = "\n".join(banner)
        assert "Stop with" in text, text
        api_key = re.search(r"API key \(tenant 'demo'\): (\S+)", text)
        central_role = re.search(r"central role\s+(arn:\S+)", text)
        assume_role = re.search(r"assume_role role\s+(arn:\S+)", text)
        data_dir = re.search(r"data directory:\s+(\S+)", text)
        assert api_key
        assert central_role
        assert assume_role
        assert data_dir
        assert Path(data_dir.group(1)).exists()
        yield Demo(
            base_url=f"http://127.0.0.1:{port}",
            api_key=api_key.group(1),
            banner=text,
            central_role_arn=central_role.group(1),
            assume_role_arn=assume_role.group(1),
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0
    assert not Path(data_dir.group(1)).exists(), "the demo leaves its data directory behind"
