"""`onboarder demo` starts, answers, and every curl line it prints works."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _replay_curl(line: str) -> httpx.Response:
    """Run a printed `curl` line with httpx (curl itself may not be installed)."""
    words = shlex.split(line)
    assert words[0] == "curl"
    method, headers, url, data = "GET", {}, None, None
    index = 1
    while index < len(words):
        word = words[index]
        if word in {"-H", "--header"}:
            name, _, value = words[index + 1].partition(":")
            headers[name.strip()] = value.strip()
            index += 2
        elif word in {"-X", "--request"}:
            method = words[index + 1]
            index += 2
        elif word in {"-d", "--data", "--data-raw"}:
            data = words[index + 1]
            method = "POST" if method == "GET" else method
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            url = word
            index += 1
    assert url, line
    return httpx.request(method, url, headers=headers, content=data, timeout=30)


def test_demo_serves_and_its_curl_lines_work(tmp_path: Path) -> None:
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("ONBOARDER_")}
    env["TMPDIR"] = str(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        banner: list[str] = []
        deadline = time.monotonic() + 120
        for line in process.stdout:
            banner.append(line.rstrip("\n"))
            if line.startswith("Stop with") or time.monotonic() > deadline:
                break
        text = "\n".join(banner)
        assert "Stop with" in text, text

        api_key = re.search(r"API key \(tenant 'demo'\): (\S+)", text)
        assert api_key
        assert f"http://127.0.0.1:{port}/api/v1/docs" in text
        assert "APIsecCentralRole" in text

        curl_lines = [line.strip() for line in banner if line.strip().startswith("curl ")]
        assert len(curl_lines) >= 3
        for line in curl_lines:
            response = _replay_curl(line)
            assert response.status_code in {200, 201}, (line.split("Bearer")[0], response.text)
            assert response.json()
            if line.endswith("/connections/test"):
                assert response.json()["ok"] is True, response.text
                assert len(response.json()["accounts"]) == 5

        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json() == {"status": "ok"}
        tenant = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/tenant",
            headers={"Authorization": f"Bearer {api_key.group(1)}"},
        )
        assert tenant.json()["name"] == "demo"
        data_dir = re.search(r"data directory:\s+(\S+)", text)
        assert data_dir
        assert Path(data_dir.group(1)).exists()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0
    assert not Path(data_dir.group(1)).exists(), "the demo leaves its data directory behind"
