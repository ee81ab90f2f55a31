"""The identity map's contents: identities, and which Slack users act as which."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr


@dataclass(frozen=True)
class Guardrails:
    """Limits an admin puts on where and how an identity may be used."""

    channels: frozenset[str] | None = None
    """Channel IDs the identity may be used in; ``None`` means anywhere."""

    require_ticket: bool = False
    """Whether an enable under this identity needs at least one complete ticket."""

    def allows_channel(self, channel_id: str) -> bool:
        return self.channels is None or channel_id in self.channels


@dataclass(frozen=True)
class KeyIdentity:
    """An identity that signs with a permanent AK/SK read from the environment."""

    name: str
    domain_id: str
    access_key_env: str
    secret_key_env: str
    access_key: str = field(repr=False)
    secret_key: SecretStr = field(repr=False)
    guardrails: Guardrails = Guardrails()

    @property
    def kind(self) -> str:
        return "keys"


@dataclass(frozen=True)
class AgencyIdentity:
    """An identity that assumes an IAM agency with a key-based source identity's keys."""

    name: str
    domain_id: str
    agency_name: str
    source: str
    duration_seconds: int
    agency_domain_name: str | None = None
    agency_domain_id: str | None = None
    guardrails: Guardrails = Guardrails()

    @property
    def kind(self) -> str:
        return "agency"


Identity = KeyIdentity | AgencyIdentity


@dataclass(frozen=True)
class IdentityMap:
    """A validated identity map: every user entry names an identity that exists."""

    path: Path
    identities: Mapping[str, Identity]
    users: Mapping[str, str]
    """Slack user ID to identity name."""
    emails: Mapping[str, str]
    """Lower-cased email address to identity name."""

    @property
    def needs_emails(self) -> bool:
        return bool(self.emails)

    def identity_for(self, user_id: str, email: str | None = None) -> Identity | None:
        """The identity ``user_id`` acts as; a user ID entry beats an email entry."""
        name = self.users.get(user_id)
        if name is None and email:
            name = self.emails.get(email.lower())
        return None if name is None else self.identities[name]

    def source_of(self, identity: AgencyIdentity) -> KeyIdentity:
        source = self.identities[identity.source]
        assert isinstance(source, KeyIdentity), "the loader guarantees an agency's source has keys"
        return source
