"""Test tokens: a successful test of an unsaved connection, carried to its creation.

`POST /connections/test` answers a token when the test passed; `POST /connections` with that
token stores the connection as tested. Nothing is kept on the server between the two calls
(any process can check the token): the token is signed with an HMAC keyed from the service's
secret key material, and binds the tenant, a keyed digest of the tested credential fields
(never the fields themselves: the secret must not be readable from it), the account and ARN
the test found, and the time of the test. It is valid for 15 minutes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import SecretStr

from app.integrations.aws.credentials import CredentialSpec, credential_type
from app.models.base import utcnow

TOKEN_PREFIX = "ctt1"  # noqa: S105 - a format marker, not a secret
VALID_FOR = timedelta(minutes=15)
# A token dated a little ahead of this process's clock (another process's) is still fine.
CLOCK_SKEW = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 2048
_SIGNING_PURPOSE = b"onboarder connection test token: signature"
_DIGEST_PURPOSE = b"onboarder connection test token: fields digest"


@dataclass(frozen=True)
class TestedFacts:
    """What a verified token says the test found."""

    __test__ = False  # not a pytest test class

    account_id: str | None
    arn: str | None
    tested_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical_fields(spec: CredentialSpec) -> bytes:
    """The credential fields of a spec (not its name), in one canonical serialization."""
    values: dict[str, object] = {"credential_type": type(spec).type_name}
    for name in credential_type(type(spec).type_name).model_fields:
        value = getattr(spec, name)
        values[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str).encode()


class _Key:
    def __init__(self, material: str) -> None:
        root = material.encode()
        self.signing = hmac.new(root, _SIGNING_PURPOSE, hashlib.sha256).digest()
        self.digest = hmac.new(root, _DIGEST_PURPOSE, hashlib.sha256).digest()

    def fields_digest(self, spec: CredentialSpec) -> str:
        # Keyed, so that even a guessable secret cannot be confirmed from a token.
        return _b64(hmac.new(self.digest, _canonical_fields(spec), hashlib.sha256).digest())

    def sign(self, payload: bytes) -> bytes:
        return hmac.new(self.signing, payload, hashlib.sha256).digest()


class TestTokenSigner:
    """Signs with the newest key; checks with any configured key (a key rotation between a
    test and a create does not spoil the token)."""

    __test__ = False  # not a pytest test class

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("no key material")
        self._keys = [_Key(key) for key in keys]

    def issue(
        self,
        *,
        tenant_id: uuid.UUID,
        spec: CredentialSpec,
        account_id: str | None,
        arn: str | None,
        tested_at: datetime,
    ) -> str:
        key = self._keys[0]
        payload = json.dumps(
            {
                "t": str(tenant_id),
                "f": key.fields_digest(spec),
                "a": account_id,
                "r": arn,
                "at": tested_at.isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        return f"{TOKEN_PREFIX}.{_b64(payload)}.{_b64(key.sign(payload))}"

    def verify(
        self,
        token: str,
        *,
        tenant_id: uuid.UUID,
        spec: CredentialSpec,
        now: datetime | None = None,
    ) -> TestedFacts | None:
        """The facts of a token made for this tenant and these fields, still valid; else None."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            return None
        try:
            payload, signature = _unb64(parts[1]), _unb64(parts[2])
        except (binascii.Error, ValueError):
            return None
        key = next((k for k in self._keys if hmac.compare_digest(k.sign(payload), signature)), None)
        if key is None:
            return None
        try:
            claims = json.loads(payload)
            tested_at = datetime.fromisoformat(claims["at"])
            token_tenant, token_fields = claims["t"], claims["f"]
            account_id, arn = claims["a"], claims["r"]
        except (ValueError, KeyError, TypeError):
            return None
        if token_tenant != str(tenant_id):
            return None
        if not hmac.compare_digest(str(token_fields), key.fields_digest(spec)):
            return None
        now = now or utcnow()
        if tested_at.tzinfo is None or not (now - VALID_FOR <= tested_at <= now + CLOCK_SKEW):
            return None
        return TestedFacts(account_id=account_id, arn=arn, tested_at=tested_at)
