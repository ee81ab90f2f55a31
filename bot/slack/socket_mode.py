"""Socket Mode: the same Bolt app over a WebSocket, for hosts without a public URL.

slack_sdk's aiohttp client carries the envelopes; this module owns the connection's life.
The client's own reconnection is switched off. Left on, it retries a spent URL at a fixed
pace for ever, and its reconnecting tasks have raced each other into connections that look
open but receive nothing (python-slack-sdk #1446 and #1926). Instead, one client serves one
connection, and :class:`SocketSupervisor` replaces it when the connection

- closes or drops without a close frame;
- goes silent: aiohttp pings every ``SLACK_SOCKET_PING_INTERVAL_SECONDS`` and gives up on
  a connection whose pong is half an interval late;
- or stays unusable (no ``hello`` from Slack, a reconnect that never finishes) for
  :data:`RECOVERY_SECONDS`.

A new client opens a new URL with ``apps.connections.open`` after a jittered, doubling
pause. A ``disconnect`` message from Slack is still followed by the client itself, which
opens the new URL at once. ``readiness.socket`` is true only while the connection is open,
answers pings and has said ``hello``.

An app-level token that Slack refuses stops the bot with a :class:`~bot.errors.ConfigError`,
as a refused bot token does; any other failure is retried.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import ConfigError
from bot.health import Readiness, serve_probes
from bot.slack.api import api_error

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

# The client's own lines go to slack_sdk's logger, kept below WARNING out of the logs
# (bot.logs) because its DEBUG lines hold whole envelopes; this module logs what it does.
_client_log = logging.getLogger("slack_sdk.socket_mode.aiohttp")

CONNECT_TIMEOUT_SECONDS = 10.0
"""How long a new connection may take to open and say ``hello``."""
RECOVERY_SECONDS = 10.0
"""How long an open but unusable connection is given to recover before it is replaced."""
CLOSE_TIMEOUT_SECONDS = 5.0
FIRST_RETRY_SECONDS = 1.0
MAX_RETRY_SECONDS = 60.0

REFUSED_TOKEN = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "missing_scope",
    }
)
"""``apps.connections.open`` errors that no retry can cure."""


class _NoConnection(Exception):
    """This attempt failed in a way the next one may not."""


class _Link:
    """One client and what is known about its connection."""

    def __init__(self, client: SocketModeClient) -> None:
        self.client = client
        self.greeted: object | None = None
        """The aiohttp session that Slack's ``hello`` arrived on."""

    async def on_message(self, client: AsyncBaseSocketModeClient, message: dict[str, Any], _raw: str | None) -> None:
        if message.get("type") == "hello":
            self.greeted = self.client.current_session
            log.info("Socket Mode connection ready (%s open for this app)", message.get("num_connections", "?"))

    async def healthy(self) -> bool:
        session = self.client.current_session
        return session is not None and session is self.greeted and await self.client.is_connected()

    def dead(self) -> bool:
        """Closed, with nobody reconnecting it: only a new client can help."""
        session = self.client.current_session
        closed = session is None or session.closed
        return closed and not self.client.connect_operation_lock.locked()


class SocketSupervisor:
    """Keeps one healthy Socket Mode connection for ``bolt``; see the module docstring."""

    def __init__(
        self,
        bolt: AsyncApp,
        app_token: str,
        web_client: AsyncWebClient,
        readiness: Readiness,
        *,
        ping_interval: float,
    ) -> None:
        self._bolt = bolt
        self._app_token = app_token
        self._web = web_client
        self._readiness = readiness
        self._ping_interval = ping_interval
        self._check_every = min(1.0, ping_interval / 2)
        self._stable_after = 3 * ping_interval
        self._closing: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Stay connected until ``stop`` is set; raise ConfigError if Slack refuses the token."""
        self._set_socket(False, "not connected yet")
        failures = 0
        try:
            while not stop.is_set():
                link = self._new_link()
                try:
                    lived = await self._serve(link, stop)
                finally:
                    self._set_socket(False, "reconnecting")
                    await self._close(link)
                if stop.is_set():
                    break
                failures = 0 if lived >= self._stable_after else failures + 1
                delay = _backoff(failures)
                log.warning("Socket Mode: opening a new connection in %.1f s", delay)
                await _unless_stopped(stop, asyncio.sleep(delay))
        finally:
            self._set_socket(False, "stopped")
            if self._closing:
                await asyncio.wait(self._closing, timeout=CLOSE_TIMEOUT_SECONDS)

    async def _serve(self, link: _Link, stop: asyncio.Event) -> float:
        """Connect ``link`` and watch it until it fails; how long it was healthy, in seconds."""
        try:
            await self._connect(link, stop)
        except _NoConnection as exc:
            log.warning("Socket Mode connection failed: %s", exc)
            return 0.0
        if stop.is_set():
            return 0.0

        loop = asyncio.get_running_loop()
        started = loop.time()
        unhealthy_since: float | None = None
        while not stop.is_set():
            healthy = await link.healthy()
            now = loop.time()
            if healthy:
                unhealthy_since = None
                self._set_socket(True)
            else:
                unhealthy_since = now if unhealthy_since is None else unhealthy_since
                self._set_socket(False, "connection lost; reconnecting")
                if link.dead():
                    log.warning("Socket Mode connection closed or went silent")
                    break
                if now - unhealthy_since >= RECOVERY_SECONDS:
                    log.warning("Socket Mode connection unusable for %.0f s; replacing it", RECOVERY_SECONDS)
                    break
            await _unless_stopped(stop, asyncio.sleep(self._check_every))
        return (unhealthy_since or loop.time()) - started

    async def _connect(self, link: _Link, stop: asyncio.Event) -> None:
        link.client.wss_uri = await self._open_url()
        # connect() retries a refused URL for ever; the timeout ends that.
        opening: Awaitable[None] = link.client.connect()  # type: ignore[no-untyped-call]
        try:
            await asyncio.wait_for(_unless_stopped(stop, opening), CONNECT_TIMEOUT_SECONDS)
        except TimeoutError:
            raise _NoConnection(f"the WebSocket did not open within {CONNECT_TIMEOUT_SECONDS:.0f} s") from None

        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECT_TIMEOUT_SECONDS
        while not stop.is_set() and not await link.healthy():
            if loop.time() > deadline or link.dead():
                raise _NoConnection(f"Slack did not say hello within {CONNECT_TIMEOUT_SECONDS:.0f} s")
            await _unless_stopped(stop, asyncio.sleep(0.05))

    async def _open_url(self) -> str:
        try:
            response = await self._web.apps_connections_open(app_token=self._app_token)
        except SdkApiError as exc:
            error = api_error(exc)
            if error in REFUSED_TOKEN:
                raise ConfigError(
                    f"SLACK_APP_TOKEN was refused by Slack's apps.connections.open ({error}); set it to "
                    "an app-level token (xapp-…) with the connections:write scope, or unset it for HTTP mode"
                ) from None
            raise _NoConnection(f"apps.connections.open answered {error}") from None
        except Exception as exc:  # any transport failure means the same: try again later
            raise _NoConnection(f"apps.connections.open could not be called ({type(exc).__name__})") from exc
        url = response.get("url")
        if not isinstance(url, str) or not url.startswith(("wss://", "ws://")):
            raise _NoConnection("apps.connections.open answered without a WebSocket URL")
        return url

    def _new_link(self) -> _Link:
        handler = AsyncSocketModeHandler(
            self._bolt,
            self._app_token,
            logger=_client_log,
            web_client=self._web,
            ping_interval=self._ping_interval,
        )
        client = handler.client
        client.default_auto_reconnect_enabled = False
        client.auto_reconnect_enabled = False
        link = _Link(client)
        client.message_listeners.append(link.on_message)
        return link

    async def _close(self, link: _Link) -> None:
        # A connection that stopped answering can hold close() for aiohttp's whole close
        # timeout; the next connection need not wait for it.
        closing = asyncio.ensure_future(link.client.close())  # type: ignore[no-untyped-call]
        self._closing.add(closing)
        closing.add_done_callback(self._closed)
        await asyncio.wait({closing}, timeout=CLOSE_TIMEOUT_SECONDS)

    def _closed(self, task: asyncio.Task[None]) -> None:
        self._closing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("closing a Socket Mode client failed: %s", type(task.exception()).__name__)

    def _set_socket(self, connected: bool, problem: str = "") -> None:
        self._readiness.socket = connected
        if connected:
            self._readiness.problems.pop("socket", None)
        else:
            self._readiness.problems["socket"] = f"Socket Mode: {problem}"


def _backoff(failures: int) -> float:
    ceiling = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2.0**failures)
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311  jitter, not a secret


async def _unless_stopped(stop: asyncio.Event, work: Awaitable[None]) -> None:
    """Run ``work`` until it ends or ``stop`` is set, whichever comes first."""
    working = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (working, stopping):
            task.cancel()
    if working.done() and not working.cancelled():
        working.result()


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    """Stay connected to Slack and serve the health probes until ``stop`` is set."""
    app_token = runtime.settings.slack.app_token
    assert app_token is not None, "Socket Mode runs only when SLACK_APP_TOKEN is set"
    supervisor = SocketSupervisor(
        runtime.bolt,
        app_token.get_secret_value(),
        runtime.slack,
        runtime.readiness,
        ping_interval=runtime.settings.slack.socket_ping_interval_seconds,
    )
    server = runtime.settings.server

    probes_stop = asyncio.Event()
    supervising = asyncio.create_task(supervisor.run(stop), name="socket mode")
    probing = asyncio.create_task(serve_probes(runtime.readiness, server.host, server.port, probes_stop))
    log.info("Socket Mode: health probes on %s:%d", server.host, server.port)
    await asyncio.wait({supervising, probing}, return_when=asyncio.FIRST_COMPLETED)

    probes_stop.set()
    if not supervising.done():
        supervising.cancel()
    for outcome in await asyncio.gather(supervising, probing, return_exceptions=True):
        if isinstance(outcome, Exception):
            raise outcome
