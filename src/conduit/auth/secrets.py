"""Encryption at rest for key secrets, signature secrets and connectors' custom headers.

Secrets must be recoverable (the token grant verifies an HMAC made with the key's secret; pushes are
signed with the connector's secret and carry its headers, where users keep their receivers' API
keys), so they are encrypted, not hashed. The server key lives in
`<data-dir>/secret.key` (mode 0600) or comes from `CONDUIT_SECRET_KEY`; it never reaches a log.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

import orjson
from cryptography.fernet import Fernet, InvalidToken

KEY_SECRET_BYTES = 16


def new_key_secret() -> str:
    """A service account key's secret: 128 random bits as 32 hex characters, like DT Cloud's."""
    return secrets.token_hex(KEY_SECRET_BYTES)


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)  # validates the key: 32 url-safe base64-encoded bytes
        # A Fernet key is a 16-byte signing key then a 16-byte encryption key (the Fernet spec).
        self._signing_half = base64.urlsafe_b64decode(key)[:16]

    @classmethod
    def load_or_create(cls, data_dir: Path, env_key: str | None = None) -> SecretBox:
        if env_key:
            return cls(env_key.encode())
        path = data_dir / "secret.key"
        if path.exists():
            return cls(path.read_bytes().strip())
        data_dir.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
            f.flush()
            os.fsync(f.fileno())
        return cls(key)

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with this server key") from exc

    def seal_headers(self, headers: Mapping[str, str]) -> bytes | None:
        """A connector's custom headers as stored; None when it has none."""
        return self.encrypt(orjson.dumps(dict(headers)).decode()) if headers else None

    def open_headers(self, sealed: bytes | None) -> dict[str, str]:
        """Raises ValueError when this server key cannot decrypt them."""
        if not sealed:
            return {}
        headers = orjson.loads(self.decrypt(sealed))
        if not isinstance(headers, dict):
            raise ValueError("sealed headers are not an object")
        return {str(k): str(v) for k, v in headers.items()}

    def signing_key(self) -> bytes:
        """A key derived for signing access tokens, distinct from the encryption use."""
        import hashlib

        return hashlib.sha256(b"conduit-access-token:" + self._signing_half).digest()
