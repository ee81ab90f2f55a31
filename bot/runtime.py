"""The running bot's parts, built once from the settings and wired together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import httpx
from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs, retry, transport
from bot.audit.store import AuditStore
from bot.coc.client import CocClient
from bot.enabling.parts import EnablingParts
from bot.enabling.reconcile import Reconciler
from bot.enabling.service import EnableService
from bot.errors import ConfigError, StoreError
from bot.health import Readiness
from bot.identities.model import IdentityMap
from bot.identities.provider import CredentialProvider
from bot.identities.resolver import IdentityResolver, slack_email_lookup
from bot.identities.watch import IdentityMapHolder
from bot.settings import Settings
from bot.slack import commands, views
from bot.slack.api import api_error
from bot.slack.context import ListenerContext
from bot.slack.delivery import Delivery

log = logging.getLogger(__name__)

BACKGROUND_INTERVAL_SECONDS = 15.0
LEASE_MARGIN_SECONDS = 5.0
EMAIL_LOOKUP_TIMEOUT_SECONDS = 2


def enable_lease(settings: Settings) -> timedelta:
    """How long a pending audit record is held: past it, its COC call has surely ended.

    Every attempt may take the full timeout, and each retry may wait up to ``retry.MAX_WAIT``.
    """
    attempts = settings.coc.retries + 1
    worst = settings.coc.timeout_seconds * attempts + retry.MAX_WAIT_SECONDS * settings.coc.retries
    return timedelta(seconds=worst + LEASE_MARGIN_SECONDS)


@dataclass
class Runtime:
    settings: Settings
    http: httpx.AsyncClient
    slack: AsyncWebClient
    slack_session: aiohttp.ClientSession
    identities: IdentityMapHolder
    store: AuditStore
    service: EnableService
    reconciler: Reconciler
    bolt: AsyncApp
    readiness: Readiness

    @classmethod
    async def create(cls, settings: Settings) -> Runtime:
        """Build every part; a bad identity map or store stops here with a message naming the fix."""
        identities = IdentityMapHolder(settings.identities.identity_map)
        store = await AuditStore.open(settings.store.database_url)
        # Room for every enable of a busy change window in flight at once.
        http = transport.new_client(settings.coc.timeout_seconds, max_connections=256)
        # One pooled session for every Web API call, instead of a connection per call.
        slack_session = aiohttp.ClientSession()
        slack = AsyncWebClient(
            token=settings.slack.bot_token.get_secret_value(),
            base_url=settings.slack.api_url,
            session=slack_session,
            timeout=10,
            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=3)],
        )
        credentials = CredentialProvider(
            http,
            settings.iam.endpoint,
            renew_margin=timedelta(seconds=settings.iam.renew_margin_seconds),
            retries=settings.coc.retries,
        )
        coc = CocClient(http, settings.coc.base_url, retries=settings.coc.retries)
        delivery = Delivery(slack)

        def current_map() -> IdentityMap:
            return identities.current

        parts = EnablingParts(
            store=store,
            coc=coc,
            credentials=credentials,
            identity_map=current_map,
            delivery=delivery,
            lease=enable_lease(settings),
        )
        service = EnableService(parts, in_flight_wait=parts.lease.total_seconds())
        reconciler = Reconciler(parts, held_here=service.holds)
        # users.info runs before Slack's 3-second acknowledgement: no retries, a short limit.
        lookup_client = AsyncWebClient(
            token=settings.slack.bot_token.get_secret_value(),
            base_url=settings.slack.api_url,
            session=slack_session,
            timeout=EMAIL_LOOKUP_TIMEOUT_SECONDS,
            retry_handlers=[],
        )
        resolver = IdentityResolver(
            current_map,
            slack_email_lookup(lookup_client),
            email_ttl=timedelta(seconds=settings.identities.email_cache_seconds),
        )
        signing_secret = settings.slack.signing_secret
        logging.getLogger("slack_bolt.AsyncApp").addFilter(_token_from_client_is_expected)
        bolt = AsyncApp(
            client=slack,
            signing_secret=signing_secret.get_secret_value() if signing_secret else None,
            request_verification_enabled=signing_secret is not None and not settings.slack.socket_mode,
            process_before_response=False,
            # Unhandled requests come to _unhandled below, which logs one line instead of Bolt's advice.
            raise_error_for_unhandled_request=True,
        )
        bolt.error(_unhandled)
        bolt.use(_request_id_middleware)
        ctx = ListenerContext(resolver=resolver, service=service, store=store)
        commands.register(bolt, ctx)
        views.register(bolt, ctx)
        readiness = Readiness(identity_map=True, store=True)
        return cls(settings, http, slack, slack_session, identities, store, service, reconciler, bolt, readiness)

    async def start(self) -> None:
        """Check Slack, reconcile what a crash left, and start the background checks."""
        try:
            auth = await self.slack.auth_test()
        except SdkApiError as exc:
            raise ConfigError(
                f"SLACK_BOT_TOKEN was refused by Slack's auth.test ({api_error(exc)}); "
                "set it to the app's Bot User OAuth Token (xoxb-…)"
            ) from None
        except Exception as exc:  # any transport failure means the same: no Slack
            raise ConfigError(
                f"Slack's Web API at SLACK_API_URL={self.settings.slack.api_url} could not be reached: "
                f"{type(exc).__name__}"
            ) from exc
        self.readiness.slack_auth = True
        log.info("connected to Slack team %s as bot user %s", auth.get("team_id"), auth.get("user_id"))
        await self._reconcile()
        self._background = [
            asyncio.create_task(self.identities.watch(self._stopping), name="identity map watch"),
            asyncio.create_task(self._checks(), name="store checks"),
        ]

    async def stop(self, grace: float) -> None:
        """Let running enables finish within ``grace`` seconds, then release every resource."""
        unfinished = await self.service.drain(grace)
        if unfinished:
            log.error("%d enable(s) did not finish before shutdown; reconciliation will complete them", unfinished)
        self._stopping.set()
        for task in getattr(self, "_background", []):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.http.aclose()
        await self.slack_session.close()
        await self.store.close()

    def __post_init__(self) -> None:
        self._stopping = asyncio.Event()
        # Abandoned records are looked for often enough that none waits much past its lease.
        self._interval = min(BACKGROUND_INTERVAL_SECONDS, enable_lease(self.settings).total_seconds() / 2)

    async def _reconcile(self) -> None:
        try:
            count = await self.reconciler.run_once()
        except StoreError as exc:
            log.error("reconciliation skipped: %s", exc)
            return
        except Exception:
            # Reconciliation is retried every round; it must never stop the bot or its checks.
            log.exception("reconciliation failed")
            return
        if count:
            log.info("reconciled %d record(s) left pending", count)

    async def _checks(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
            try:
                await self.store.ping()
            except StoreError as exc:
                self.readiness.store = False
                self.readiness.problems["store"] = str(exc)
                log.error("audit store unreachable: %s", exc)
                continue
            self.readiness.store = True
            self.readiness.problems.pop("store", None)
            await self._reconcile()


async def _unhandled(error: Exception, body: dict[str, Any], response: BoltResponse | None) -> BoltResponse | None:
    if isinstance(error, BoltUnhandledRequestError):
        log.warning("no listener for this Slack %s; answered 404", body.get("type") or "command")
        return BoltResponse(status=404, body="")
    log.error("a Slack listener failed", exc_info=error)
    # After the acknowledgement there is no answer left to give Slack.
    return None if response is None else BoltResponse(status=500, body="")


def _token_from_client_is_expected(record: logging.LogRecord) -> bool:
    # Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that the
    # client's token wins; it is the same token, so the warning would only alarm admins.
    return record.getMessage() != warning_client_prioritized_and_token_skipped()


async def _request_id_middleware(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
    # The HTTP edge starts an ID before Bolt runs; Socket Mode requests start theirs here.
    known = context.get("request_id")
    if isinstance(known, str):
        logs.request_id.set(known)
    else:
        context["request_id"] = logs.new_request_id()
    await next()
