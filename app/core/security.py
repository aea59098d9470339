"""Tenant API keys and encryption of secrets at rest."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.core.config import Mode, Settings

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "onb"
# onb_<16 hex key id>_<43 url-safe chars = 32 random bytes>
API_KEY_PATTERN = re.compile(r"onb_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class NewApiKey:
    key_id: str
    secret_hash: str
    plaintext: str


def hash_api_key(plaintext: str) -> str:
    # The key carries 256 random bits, so a fast digest is enough: there is nothing to brute force.
    return hashlib.sha256(plaintext.encode()).hexdigest()


def generate_api_key() -> NewApiKey:
    key_id = secrets.token_hex(8)
    plaintext = f"{API_KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    return NewApiKey(key_id=key_id, secret_hash=hash_api_key(plaintext), plaintext=plaintext)


def parse_api_key(presented: str) -> str | None:
    """The key id of a well-formed key, else None."""
    match = API_KEY_PATTERN.fullmatch(presented)
    return match.group(1) if match else None


def api_key_matches(presented: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(presented), secret_hash)


def generate_external_id() -> str:
    return secrets.token_hex(16)


class EncryptionNotConfiguredError(RuntimeError):
    pass


class DecryptionError(RuntimeError):
    pass


class SecretBox:
    """Encrypts with the newest key, decrypts with any configured key (MultiFernet)."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise EncryptionNotConfiguredError("no encryption keys")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError:
            # Never echo the key material itself.
            raise EncryptionNotConfiguredError(
                "an encryption key is not a valid Fernet key (32 url-safe base64-encoded bytes)"
            ) from None

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "a stored secret cannot be decrypted with the configured keys"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt a token under the newest key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "a stored secret cannot be decrypted with the configured keys"
            ) from None


def _read_or_create_key_file(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    # O_EXCL: two processes starting at once must not write two different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    logger.warning(
        "generated an encryption key for secrets at rest in %s (mode 0600); back it up, "
        "or set ONBOARDER_ENCRYPTION_KEYS",
        path,
    )
    return key


def load_encryption_keys(settings: Settings) -> list[str]:
    keys = [key.get_secret_value() for key in settings.encryption_keys]
    if keys:
        return keys
    if settings.mode is Mode.PRODUCTION:
        raise EncryptionNotConfiguredError(
            "ONBOARDER_ENCRYPTION_KEYS is required in production mode "
            "(generate one with: onboarder keys generate-encryption-key)"
        )
    return [_read_or_create_key_file(settings.encryption_key_file)]


def build_secret_box(settings: Settings) -> SecretBox:
    return SecretBox(load_encryption_keys(settings))
