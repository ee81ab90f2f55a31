"""What an enable and the reconciliation of an abandoned one both work with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.audit.store import AuditStore
from bot.coc.client import CocClient
from bot.identities.model import IdentityMap
from bot.identities.provider import CredentialProvider
from bot.slack.delivery import Delivery


@dataclass(frozen=True)
class EnablingParts:
    store: AuditStore
    coc: CocClient
    credentials: CredentialProvider
    identity_map: Callable[[], IdentityMap]
    """The identity map in force now; it changes when the file is reloaded."""
    delivery: Delivery
    lease: timedelta
    """How long a pending audit record is held before it counts as abandoned."""
