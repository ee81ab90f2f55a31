"""Which identity a Slack user acts as in a channel, or why they may not act at all.

A user ID entry in the identity map beats an email entry. Emails come from Slack's
``users.info`` and are asked for only when the map has email entries and no entry for the
user's ID; a found email is trusted for ``email_ttl``. A lookup that fails leaves the user
unmapped for now rather than failing the command.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from slack_sdk import errors as slack_errors
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import SlackApiError
from bot.identities.model import Identity, IdentityMap
from bot.slack.api import SLACK_UNREACHABLE, api_error

logger = logging.getLogger(__name__)

EmailLookup = Callable[[str], Awaitable[str | None]]
"""Returns a Slack user's email address, ``None`` when Slack has none to give."""

Clock = Callable[[], datetime]


UNREACHABLE = "unreachable"
"""How the Slack lookup reports that Slack did not answer."""


class RefusalReason(StrEnum):
    UNMAPPED = "unmapped"
    """No entry in the identity map names this user, by ID or by email."""
    CHANNEL_NOT_ALLOWED = "channel_not_allowed"
    """The user's identity is limited to other channels."""
    LOOKUP_FAILED = "lookup_failed"
    """The map has email entries and Slack did not say this user's email in time; try again."""


class _LookupFailed(Exception):
    pass


_TRANSIENT_ERRORS = frozenset({"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable"})


def _transient(error: str) -> bool:
    """Whether asking Slack again may give the email (as opposed to, say, ``user_not_found``)."""
    return error in _TRANSIENT_ERRORS or error.startswith((UNREACHABLE, "HTTP "))


@dataclass(frozen=True)
class Resolved:
    identity: Identity


@dataclass(frozen=True)
class Refused:
    reason: RefusalReason
    allowed_channels: tuple[str, ...] = ()
    """For ``channel_not_allowed``: where the identity may be used, sorted."""
    identity: str | None = None
    """For ``channel_not_allowed``: the name of the identity the user maps to."""


Resolution = Resolved | Refused


@dataclass(frozen=True)
class _CachedEmail:
    email: str
    fetched_at: datetime


class IdentityResolver:
    """Resolves a Slack user and channel to an identity against the map in force."""

    def __init__(
        self,
        current: Callable[[], IdentityMap],
        lookup_email: EmailLookup,
        *,
        email_ttl: timedelta,
        clock: Clock | None = None,
    ) -> None:
        self._current = current
        self._lookup_email = lookup_email
        self._email_ttl = email_ttl
        self._clock = clock or (lambda: datetime.now(UTC))
        self._emails: dict[str, _CachedEmail] = {}

    async def resolve(self, user_id: str, channel_id: str) -> Resolution:
        identity_map = self._current()

        identity = identity_map.identity_for(user_id)
        if identity is None and identity_map.needs_emails:
            try:
                email = await self._email_of(user_id)
            except _LookupFailed:
                return Refused(RefusalReason.LOOKUP_FAILED)
            if email is not None:
                identity = identity_map.identity_for(user_id, email)
        if identity is None:
            return Refused(RefusalReason.UNMAPPED)

        if not identity.guardrails.allows_channel(channel_id):
            allowed = tuple(sorted(identity.guardrails.channels or ()))
            return Refused(RefusalReason.CHANNEL_NOT_ALLOWED, allowed_channels=allowed, identity=identity.name)
        return Resolved(identity)

    async def _email_of(self, user_id: str) -> str | None:
        now = self._clock()
        cached = self._emails.get(user_id)
        if cached is not None and now - cached.fetched_at < self._email_ttl:
            return cached.email

        try:
            email = await self._lookup_email(user_id)
        except SlackApiError as exc:
            logger.warning("Could not look up the email of Slack user %s: %s", user_id, exc)
            if _transient(exc.error):
                raise _LookupFailed from exc
            return None
        if not email:
            # Not cached: a missing users:read.email scope, once granted, should count at once.
            logger.info("Slack gave no email for user %s; treating them as unmapped", user_id)
            return None

        self._emails[user_id] = _CachedEmail(email=email, fetched_at=now)
        return email


def slack_email_lookup(client: AsyncWebClient) -> EmailLookup:
    """An :data:`EmailLookup` that asks Slack's ``users.info`` (needs ``users:read.email``).

    Raises :class:`~bot.errors.SlackApiError` when Slack refuses or cannot be reached.
    """

    async def lookup(user_id: str) -> str | None:
        try:
            response = await client.users_info(user=user_id)
        except slack_errors.SlackApiError as exc:
            raise SlackApiError("users.info", api_error(exc)) from exc
        except SLACK_UNREACHABLE as exc:
            raise SlackApiError("users.info", f"{UNREACHABLE} ({type(exc).__name__})") from exc

        user = response.get("user")
        profile = user.get("profile") if isinstance(user, dict) else None
        email = profile.get("email") if isinstance(profile, dict) else None
        return email if isinstance(email, str) and email else None

    return lookup
