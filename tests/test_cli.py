"""The `onboarder` command: tenants and keys created on the command line work over HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.cli import main
from app.core.config import get_settings
from app.main import create_app


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> Iterator[dict[str, str]]:
    env = {
        "ONBOARDER_DATABASE_URL": database_url,
        "ONBOARDER_DATA_DIR": str(tmp_path / "cli-data"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield env
    get_settings.cache_clear()


def _field(output: str, name: str) -> str:
    match = re.search(rf"^{name}:\s+(\S+)$", output, re.MULTILINE)
    assert match, f"{name} missing from: {output}"
    return match.group(1)


def test_tenants_create_prints_a_key_that_works(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenants", "create", "Acme Security"]) == 0
    captured = capsys.readouterr()
    api_key = _field(captured.out, "api_key")
    tenant_id = _field(captured.out, "tenant_id")
    external_id = _field(captured.out, "external_id")
    assert "only this once" in captured.err

    with TestClient(create_app(get_settings(), configure_logs=False)) as client:
        response = client.get("/api/v1/tenant", headers={"Authorization": f"Bearer {api_key}"})
    assert response.status_code == 200
    assert response.json()["id"] == tenant_id
    assert response.json()["external_id"] == external_id


def test_a_duplicate_tenant_name_is_refused(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tenants", "create", "dup"]) == 0
    assert main(["tenants", "create", "dup"]) == 1
    assert "exists already" in capsys.readouterr().err


def test_keys_create_list_and_revoke(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    main(["tenants", "create", "globex"])
    first_key = _field(capsys.readouterr().out, "api_key")
    assert main(["keys", "create", "globex", "--label", "ci"]) == 0
    out = capsys.readouterr().out
    second_key, second_id = _field(out, "api_key"), _field(out, "key_id")

    assert main(["keys", "list", "globex"]) == 0
    listing = capsys.readouterr().out
    assert second_id in listing
    assert first_key not in listing
    assert second_key not in listing

    assert main(["keys", "revoke", second_id]) == 0
    with TestClient(create_app(get_settings(), configure_logs=False)) as client:
        revoked = client.get("/api/v1/tenant", headers={"Authorization": f"Bearer {second_key}"})
        kept = client.get("/api/v1/tenant", headers={"Authorization": f"Bearer {first_key}"})
    assert revoked.status_code == 401
    assert kept.status_code == 200


def test_keys_revoke_of_an_unknown_key_fails_cleanly(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "revoke", "0000000000000000"]) == 1
    assert "No API key" in capsys.readouterr().err


def test_the_installed_console_script_runs(cli_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "tenants", "create", "initech"],
        env={**os.environ, **cli_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _field(result.stdout, "api_key").startswith("onb_")


def test_serve_refuses_to_start_in_production_without_keys(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ONBOARDER_MODE": "production",
        "ONBOARDER_DATA_DIR": str(tmp_path),
        "ONBOARDER_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }
    env.pop("ONBOARDER_ENCRYPTION_KEYS", None)
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "ONBOARDER_ENCRYPTION_KEYS is required" in result.stderr


def test_generate_encryption_key_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    from cryptography.fernet import Fernet

    assert main(["keys", "generate-encryption-key"]) == 0
    key = capsys.readouterr().out.strip()
    Fernet(key.encode())
