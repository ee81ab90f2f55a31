"""A loopback stand-in for Slack's Socket Mode: ``apps.connections.open`` and the WebSocket.

``SocketPeer(app_token, slack_peer)`` serves, with ``with peer.serve():``,

- one HTTP app on the Slack peer's base URL that answers ``apps.connections.open`` itself
  (the app-level token in ``Authorization: Bearer``; ``{"ok": true, "url": "ws://…"}``) and
  hands every other request to the :class:`~tests.peers.slack.SlackPeer`, so that
  ``SLACK_API_URL=peer.api_url`` serves both;
- a WebSocket server (the ``websockets`` package) at those URLs. Each URL's ticket opens
  one connection, once. A connection gets ``hello`` first, then the envelopes a test sends
  (``slash_commands``, ``interactive``) with ``envelope_id``, ``payload`` and
  ``accepts_response_payload``; the client's acknowledgements ``{"envelope_id",
  "payload"?}`` are recorded.

What a test may do to the newest connection: :meth:`disconnect` (Slack's ``disconnect``
message, ``warning`` or ``refresh_requested``, then a close once the grace has passed),
:meth:`drop` (the TCP connection is aborted, no close frame), :meth:`go_silent` (the peer
stops reading, so pings go unanswered and nothing more is sent). :meth:`refuse_opens` makes
``apps.connections.open`` answer an error until it is called with ``None``.

The server answers no keepalive pings of its own: a silent connection must be found out by
the client, not closed by the peer.
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as HandshakeRequest
from websockets.http11 import Response as HandshakeResponse

from tests.peers.server import free_port
from tests.peers.server import serve as serve_http
from tests.peers.slack import SlackPeer
from tests.slack_driver import DEFAULT_CHANNEL_ID, DEFAULT_TEAM_ID, DEFAULT_USER_ID, VERIFICATION_TOKEN

OPEN_PATH = "/api/apps.connections.open"
LINK_PATH = "/link/"
DISCONNECT_GRACE = 10.0
"""How long after a ``disconnect`` message the peer closes the old connection itself."""


@dataclass(frozen=True)
class Open:
    """One ``apps.connections.open`` call and what it answered."""

    at: float
    response: dict[str, Any]


@dataclass(frozen=True)
class Ack:
    """One acknowledgement the client sent."""

    envelope_id: str
    message: dict[str, Any]
    """Everything the client sent, ``envelope_id`` included."""
    link: int
    at: float

    @property
    def payload(self) -> Any:
        return self.message.get("payload")


@dataclass
class _Link:
    number: int
    connection: ServerConnection
    opened_at: float
    closed: bool = False
    silent: bool = False
    received: list[dict[str, Any]] = field(default_factory=list)


class SocketPeer:
    """Slack's Socket Mode for one app, beside a :class:`SlackPeer` for the Web API."""

    def __init__(self, app_token: str, slack: SlackPeer) -> None:
        self.app_token = app_token
        self.slack = slack
        self._lock = threading.Lock()
        self._opens: list[Open] = []
        self._tickets: set[str] = set()
        self._links: list[_Link] = []
        self._acks: list[Ack] = []
        self._refusal: str | None = None
        self._closers: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws_port: int | None = None

    # Serving

    @contextmanager
    def serve(self) -> Iterator[SocketPeer]:
        """Serve the WebSocket server and the combined HTTP app; set the Slack peer's URL."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, daemon=True, name="socket peer")
        thread.start()
        self._loop = loop
        self._ws_port = free_port()
        server = self._call(self._start_server())
        try:
            with serve_http(self) as url:
                self.slack.url = url
                try:
                    yield self
                finally:
                    self.slack.url = None
        finally:
            self._call(self._stop_server(server))
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()
            self._loop = None

    @property
    def api_url(self) -> str:
        """The value for ``SLACK_API_URL``: both Web API and ``apps.connections.open``."""
        return self.slack.api_url

    async def _start_server(self) -> Server:
        return await serve(
            self._handle,
            "127.0.0.1",
            self._ws_port,
            process_request=self._check_ticket,
            ping_interval=None,
        )

    async def _stop_server(self, server: Server) -> None:
        for closer in list(self._closers):
            closer.cancel()
        for link in self._snapshot():
            if not link.closed:
                link.connection.transport.abort()
        server.close()
        await server.wait_closed()

    def _call(self, coroutine: Any, timeout: float = 10) -> Any:
        if self._loop is None:
            raise RuntimeError("The socket peer is not served; use `with peer.serve():` first.")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    # apps.connections.open, beside the Web API

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The HTTP app at ``SLACK_API_URL``: this peer's method, and the Slack peer's."""
        if scope["type"] == "http" and scope["path"] == OPEN_PATH:
            response = await self._open(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.slack.app(scope, receive, send)

    async def _open(self, request: Request) -> JSONResponse:
        await request.body()
        authorization = request.headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else ""
        with self._lock:
            refusal = self._refusal
        if not token:
            body: dict[str, Any] = {"ok": False, "error": "not_authed"}
        elif token.startswith("xoxb-") or token.startswith("xoxp-"):
            body = {"ok": False, "error": "not_allowed_token_type"}
        elif token != self.app_token:
            body = {"ok": False, "error": "invalid_auth"}
        elif refusal is not None:
            body = {"ok": False, "error": refusal}
        else:
            ticket = secrets.token_hex(16)
            with self._lock:
                self._tickets.add(ticket)
            url = f"ws://127.0.0.1:{self._ws_port}{LINK_PATH}?ticket={ticket}&app_id={self.slack.app_id}"
            body = {"ok": True, "url": url}
        with self._lock:
            self._opens.append(Open(time.time(), body))
        return JSONResponse(body)

    # The WebSocket

    def _check_ticket(self, connection: ServerConnection, request: HandshakeRequest) -> HandshakeResponse | None:
        parts = urlsplit(request.path)
        ticket = parse_qs(parts.query).get("ticket", [""])[0]
        with self._lock:
            known = parts.path == LINK_PATH and ticket in self._tickets
            self._tickets.discard(ticket)
        if not known:
            return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        with self._lock:
            link = _Link(len(self._links) + 1, connection, time.time())
            self._links.append(link)
            open_count = sum(1 for known in self._links if not known.closed)
        hello = {
            "type": "hello",
            "num_connections": open_count,
            "debug_info": {
                "host": f"applink-peer-{link.number}",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.slack.app_id},
        }
        try:
            await connection.send(json.dumps(hello))
            async for raw in connection:
                self._receive(link, raw)
        except ConnectionClosed:
            pass
        finally:
            link.closed = True

    def _receive(self, link: _Link, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = {"unreadable": str(raw)[:200]}
        with self._lock:
            link.received.append(message)
            if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
                self._acks.append(Ack(message["envelope_id"], message, link.number, time.time()))

    def _newest(self) -> _Link:
        with self._lock:
            usable = [link for link in self._links if not link.closed and not link.silent]
        if not usable:
            raise AssertionError(f"No open connection; connections so far: {self.links()}")
        return usable[-1]

    def _snapshot(self) -> list[_Link]:
        with self._lock:
            return list(self._links)

    # What a test reads back

    def opens(self) -> list[Open]:
        with self._lock:
            return list(self._opens)

    def links(self) -> list[dict[str, Any]]:
        """Each connection so far: its number, whether it is open, whether it went silent."""
        return [{"number": link.number, "open": not link.closed, "silent": link.silent} for link in self._snapshot()]

    def acks(self) -> list[Ack]:
        with self._lock:
            return list(self._acks)

    def wait_for_links(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        """Wait until ``count`` connections have opened in all; an earlier may have closed."""
        return self._wait(lambda: self.links() if len(self.links()) >= count else None, timeout, f"{count} connections")

    def wait_for_ack(self, envelope_id: str, timeout: float = 10) -> Ack:
        def found() -> Ack | None:
            return next((ack for ack in self.acks() if ack.envelope_id == envelope_id), None)

        return self._wait(found, timeout, f"the acknowledgement of envelope {envelope_id}")

    def _wait(self, probe: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value is not None:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"Expected {what} within {timeout} s; connections: {self.links()}, opens: {len(self.opens())}"
                )
            time.sleep(0.02)

    # What a test makes Slack do

    def refuse_opens(self, error: str | None) -> None:
        """Answer ``apps.connections.open`` with ``error`` from now on; ``None`` stops refusing."""
        with self._lock:
            self._refusal = error

    def send_envelope(self, kind: str, payload: Mapping[str, Any], *, accepts_response_payload: bool = True) -> str:
        """Send an envelope on the newest connection; returns its ``envelope_id``."""
        envelope_id = secrets.token_hex(8) + "-" + secrets.token_hex(4)
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": copy.deepcopy(dict(payload)),
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        link = self._newest()
        self._call(link.connection.send(json.dumps(envelope)))
        return envelope_id

    def disconnect(self, reason: str = "warning", *, grace: float = DISCONNECT_GRACE) -> int:
        """Ask the client to move, as Slack does before it retires a connection; returns its number."""
        link = self._newest()
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": f"applink-peer-{link.number}"}}
        self._call(link.connection.send(json.dumps(message)))
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._close_later, link, grace)
        return link.number

    def _close_later(self, link: _Link, grace: float) -> None:
        async def close() -> None:
            await asyncio.sleep(grace)
            if not link.closed:
                await link.connection.close()

        closer = asyncio.ensure_future(close())
        self._closers.add(closer)
        closer.add_done_callback(self._closers.discard)

    def drop(self) -> int:
        """Abort the newest connection's TCP stream without a close frame; returns its number."""
        link = self._newest()

        async def abort() -> None:
            link.connection.transport.abort()

        self._call(abort())
        return link.number

    def go_silent(self) -> int:
        """Stop reading the newest connection: no pong, no close, nothing; returns its number."""
        link = self._newest()

        async def pause() -> None:
            link.connection.transport.pause_reading()

        self._call(pause())
        with self._lock:
            link.silent = True
        return link.number

    # What a user does, in Socket Mode's envelopes

    def slash_command(
        self,
        text: str = "",
        *,
        user_id: str = DEFAULT_USER_ID,
        channel_id: str = DEFAULT_CHANNEL_ID,
        team_id: str = DEFAULT_TEAM_ID,
        command: str = "/enable-schedule",
    ) -> tuple[str, str]:
        """Send a ``slash_commands`` envelope; returns its ``envelope_id`` and trigger id."""
        trigger_id = self.slack.issue_trigger()
        payload = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": self.slack.team_domain,
            "channel_id": channel_id,
            "channel_name": "ops",
            "user_id": user_id,
            "user_name": self._user(user_id, team_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.slack.app_id,
            "is_enterprise_install": "false",
            "response_url": self.slack.response_url(),
            "trigger_id": trigger_id,
        }
        return self.send_envelope("slash_commands", payload), trigger_id

    def open_modal(self, text: str = "", *, timeout: float = 10, **options: Any) -> dict[str, Any]:
        """Run the slash command over the socket and return the view the bot opened."""
        envelope_id, trigger_id = self.slash_command(text, **options)
        self.wait_for_ack(envelope_id, timeout)
        call = self.slack.wait_for(
            "views.open", timeout=timeout, where=lambda c: c.params.get("trigger_id") == trigger_id
        )
        if not call[0].response.get("ok"):
            raise AssertionError(f"views.open was refused: {call[0].response}")
        return dict(call[0].response["view"])

    def submit_view(
        self,
        view: Mapping[str, Any],
        values: Mapping[str, Any],
        *,
        user_id: str = DEFAULT_USER_ID,
        team_id: str = DEFAULT_TEAM_ID,
        timeout: float = 10,
    ) -> Ack:
        """Press the modal's submit button; returns the client's acknowledgement."""
        view_id = view.get("id")
        payload = {
            "type": "view_submission",
            "team": {"id": team_id, "domain": self.slack.team_domain},
            "user": self._user(user_id, team_id),
            "api_app_id": self.slack.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.slack.issue_trigger(view_id=view_id),
            "view": {
                **copy.deepcopy(dict(view)),
                "id": view_id,
                "team_id": view.get("team_id", team_id),
                "state": {"values": copy.deepcopy(dict(values))},
                "root_view_id": view.get("root_view_id", view_id),
                "app_id": view.get("app_id", self.slack.app_id),
                "bot_id": view.get("bot_id", self.slack.bot_id),
            },
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self.wait_for_ack(self.send_envelope("interactive", payload), timeout)

    def _user(self, user_id: str, team_id: str) -> dict[str, str]:
        name = str(self.slack.users.get(user_id, {}).get("name", "operator"))
        return {"id": user_id, "username": name, "name": name, "team_id": team_id}
