"""Credentials that sign a request: permanent AK/SK, or temporary ones with a security token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr


@dataclass(frozen=True)
class Credentials:
    """What signs a COC or IAM request.

    The access key is an identifier and may be logged; the secret key and the security token
    are :class:`SecretStr` so that no ``repr`` or log line can show them.
    """

    access_key: str
    secret_key: SecretStr
    security_token: SecretStr | None = None
    expires_at: datetime | None = None

    @property
    def temporary(self) -> bool:
        return self.security_token is not None
