"""Encryption at rest and the rules for keys in each mode."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from app.core.config import Mode, Settings
from app.core.security import (
    DecryptionError,
    EncryptionNotConfiguredError,
    SecretBox,
    build_secret_box,
    generate_api_key,
    parse_api_key,
)
from app.main import create_app


def test_secretbox_round_trip_and_no_plaintext() -> None:
    box = SecretBox([Fernet.generate_key().decode()])
    token = box.encrypt("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    assert "wJalrXUtnFEMI" not in token
    assert box.decrypt(token) == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_rotation_reencrypts_under_the_newest_key() -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = SecretBox([old_key]).encrypt("secret")
    both = SecretBox([new_key, old_key])
    assert both.decrypt(token) == "secret"
    rotated = both.rotate(token)
    assert SecretBox([new_key]).decrypt(rotated) == "secret"
    with pytest.raises(DecryptionError) as info:
        SecretBox([new_key]).decrypt(token)
    assert "secret" not in str(info.value).replace("stored secret", "")


def test_an_invalid_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(EncryptionNotConfiguredError) as info:
        SecretBox(["not-a-fernet-key-but-sensitive"])
    assert "not-a-fernet-key-but-sensitive" not in str(info.value)


def test_keys_from_the_environment_are_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("ONBOARDER_ENCRYPTION_KEYS", f"{first}, {second}")
    settings = Settings()
    assert [key.get_secret_value() for key in settings.encryption_keys] == [first, second]
    assert first not in repr(settings)


def test_production_refuses_to_start_without_keys(tmp_path: Path) -> None:
    settings = Settings(mode=Mode.PRODUCTION, data_dir=tmp_path, encryption_keys=[])
    with pytest.raises(EncryptionNotConfiguredError, match="ONBOARDER_ENCRYPTION_KEYS"):
        create_app(settings, configure_logs=False)
    assert not (tmp_path / "encryption.key").exists()


def test_embedded_mode_generates_a_private_key_file_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(mode=Mode.EMBEDDED, data_dir=tmp_path / "data", encryption_keys=[])
    with caplog.at_level(logging.WARNING):
        first = build_secret_box(settings)
        second = build_secret_box(settings)
    key_file = settings.encryption_key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    messages = [
        record.getMessage() for record in caplog.records if "encryption key" in record.getMessage()
    ]
    assert len(messages) == 1
    assert str(key_file) in messages[0]
    assert key_file.read_text().strip() not in caplog.text
    assert second.decrypt(first.encrypt("x")) == "x"


def test_api_keys_carry_256_random_bits() -> None:
    keys = {generate_api_key().plaintext for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert parse_api_key(key) is not None
        assert len(key.split("_", 2)[2]) == 43  # 32 bytes, url-safe base64


def test_an_embedded_app_migrates_itself_at_start(tmp_path: Path) -> None:
    settings = Settings(mode=Mode.EMBEDDED, data_dir=tmp_path / "fresh", encryption_keys=[])
    assert settings.auto_migrate is True
    with TestClient(create_app(settings, configure_logs=False)) as client:
        assert client.get("/readyz").status_code == 200
    assert (tmp_path / "fresh" / "onboarder.db").exists()
