"""The credentials a COC call is signed with, for one identity and one Slack user.

A key identity yields its permanent keys. An agency identity yields temporary credentials
from IAM, cached per (identity, Slack user) because IAM records the Slack user as the
session user; they are renewed ``renew_margin`` before they expire. Concurrent first asks
for the same entry share one IAM call, and a failed call leaves nothing behind, so the
next ask tries again. An agency never falls back to its source identity's keys.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from bot.identities.agency import assume_agency
from bot.identities.credentials import Credentials
from bot.identities.model import AgencyIdentity, Identity, IdentityMap, KeyIdentity

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware."""

_CacheKey = tuple[str, str]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Entry:
    identity: AgencyIdentity
    """The identity as it was when the credentials were issued; a reloaded map may change it."""
    credentials: Credentials


class CredentialProvider:
    """Hands out credentials per identity and Slack user; see the module docstring."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        iam_endpoint: str,
        *,
        renew_margin: timedelta,
        clock: Clock | None = None,
        retries: int = 2,
    ) -> None:
        self._http = http
        self._iam_endpoint = iam_endpoint
        self._renew_margin = renew_margin
        self._clock = clock or _utc_now
        self._retries = retries
        self._cache: dict[_CacheKey, _Entry] = {}
        self._in_flight: dict[_CacheKey, asyncio.Task[Credentials]] = {}

    async def credentials_for(self, identity: Identity, identity_map: IdentityMap, slack_user_id: str) -> Credentials:
        """Credentials for ``identity`` acting for ``slack_user_id``.

        Raises :class:`~bot.errors.CredentialsError` when IAM does not hand out an agency's.
        """
        if isinstance(identity, KeyIdentity):
            return Credentials(access_key=identity.access_key, secret_key=identity.secret_key)

        key = (identity.name, slack_user_id)
        entry = self._cache.get(key)
        if entry is not None and entry.identity == identity and self._fresh(entry.credentials):
            return entry.credentials

        task = self._in_flight.get(key)
        if task is None:
            source = identity_map.source_of(identity)
            task = asyncio.create_task(self._renew(key, identity, source, slack_user_id))
            self._in_flight[key] = task
            task.add_done_callback(lambda done: self._settle(key, done))
        # One caller giving up must not cancel the call the others are waiting on.
        return await asyncio.shield(task)

    def invalidate(self, identity_name: str, slack_user_id: str) -> None:
        """Forget the cached credentials, e.g. after COC said their token expired."""
        if self._cache.pop((identity_name, slack_user_id), None) is not None:
            logger.info("Dropped cached credentials of identity %s for Slack user %s", identity_name, slack_user_id)

    def _fresh(self, credentials: Credentials) -> bool:
        if credentials.expires_at is None:
            return True
        return self._clock() < credentials.expires_at - self._renew_margin

    async def _renew(
        self, key: _CacheKey, identity: AgencyIdentity, source: KeyIdentity, slack_user_id: str
    ) -> Credentials:
        credentials = await assume_agency(
            self._http, self._iam_endpoint, identity, source, slack_user_id, retries=self._retries
        )
        self._cache[key] = _Entry(identity=identity, credentials=credentials)
        return credentials

    def _settle(self, key: _CacheKey, task: asyncio.Task[Credentials]) -> None:
        if self._in_flight.get(key) is task:
            del self._in_flight[key]
        if not task.cancelled():
            # Marks the exception as seen when every waiter gave up; each waiter still gets it.
            task.exception()
