"""`onboarder keys rotate-encryption`: every secret moves to the newest key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.cli import main
from app.core.config import get_settings
from app.core.db import Database
from app.core.security import DecryptionError, SecretBox
from app.models import Connection
from tests.conftest import TenantWithKey

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def keys_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setenv("ONBOARDER_DATABASE_URL", database_url)
    monkeypatch.setenv("ONBOARDER_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_rotation_moves_every_secret_to_the_new_key(
    client: TestClient,
    tenant: TenantWithKey,
    app: object,
    database: Database,
    keys_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old_key = app.state.settings.encryption_keys[0].get_secret_value()  # type: ignore[attr-defined]
    for index in range(3):
        client.post(
            "/api/v1/connections",
            json={
                "name": f"c{index}",
                "credential_type": "aws_user",
                "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "secret_access_key": SECRET,
            },
            headers=tenant.headers,
        )
    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("ONBOARDER_ENCRYPTION_KEYS", f"{new_key},{old_key}")

    assert main(["keys", "rotate-encryption"]) == 0
    assert "re-encrypted 3 secret(s)" in capsys.readouterr().out

    only_new = SecretBox([new_key])
    only_old = SecretBox([old_key])
    with database.session() as session:
        tokens = [row.secret_access_key_encrypted for row in session.scalars(select(Connection))]
    assert len(tokens) == 3
    for token in tokens:
        assert token is not None
        assert only_new.decrypt(token) == SECRET
        with pytest.raises(DecryptionError):
            only_old.decrypt(token)


def test_rotation_without_the_old_key_fails_cleanly(
    client: TestClient,
    tenant: TenantWithKey,
    keys_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    client.post(
        "/api/v1/connections",
        json={
            "name": "c",
            "credential_type": "aws_user",
            "access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "secret_access_key": SECRET,
        },
        headers=tenant.headers,
    )
    monkeypatch.setenv("ONBOARDER_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    assert main(["keys", "rotate-encryption"]) == 2
    err = capsys.readouterr().err
    assert "cannot be decrypted" in err
    assert SECRET not in err
