"""The keys the Huawei Cloud test peers accept, shared by the IAM peer and the COC peer.

Permanent keys are registered by the tests; temporary keys are registered by the IAM peer
when it issues them, so that the COC peer accepts exactly what IAM handed out.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Key:
    access_key: str
    secret_key: str
    domain_id: str
    """The account the key belongs to; COC checks ``X-Domain-Id`` against it."""
    security_token: str | None = None
    expires_at: datetime | None = None
    session_user: str | None = None
    """For temporary keys: the ``session_user.name`` IAM was given."""

    def expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and (now or datetime.now(UTC)) >= self.expires_at


class Keyring:
    def __init__(self) -> None:
        self._keys: dict[str, Key] = {}
        self._lock = threading.Lock()

    def add(self, key: Key) -> Key:
        with self._lock:
            self._keys[key.access_key] = key
        return key

    def get(self, access_key: str) -> Key | None:
        with self._lock:
            return self._keys.get(access_key)

    def revoke(self, access_key: str) -> None:
        with self._lock:
            self._keys.pop(access_key, None)
