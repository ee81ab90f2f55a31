"""What the Slack listeners need from the rest of the bot, handed to each ``register``."""

from __future__ import annotations

from dataclasses import dataclass

from bot.audit.store import AuditStore
from bot.enabling.service import EnableService
from bot.identities.resolver import IdentityResolver


@dataclass(frozen=True)
class ListenerContext:
    resolver: IdentityResolver
    service: EnableService
    store: AuditStore
