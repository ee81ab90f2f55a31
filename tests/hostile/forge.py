"""Requests as an attacker, a broken proxy or a confused Slack could send them.

Everything goes over real HTTP to the bot's ``/slack/events``: through httpx when the
request is well-formed HTTP, or through a raw socket when the point is that it is not
(a body shorter than its ``Content-Length``, a header httpx would not send).
"""

from __future__ import annotations

import copy
import json
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.integration.stack import CHANNEL, OPERATOR, SIGNING_SECRET, Stack
from tests.slack_driver import DEFAULT_TEAM_ID, VERIFICATION_TOKEN, sign

FORM = "application/x-www-form-urlencoded"
EVENTS_PATH = "/slack/events"


@dataclass(frozen=True)
class Answer:
    """What came back; ``status`` is ``None`` when the connection closed without an answer."""

    status: int | None
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def form(fields: Mapping[str, str]) -> bytes:
    return urlencode(fields).encode()


def interaction(payload: Any) -> bytes:
    return form({"payload": json.dumps(payload)})


class Forge:
    """Builds and sends requests to one running bot, signed or not, well-formed or not."""

    def __init__(self, stack: Stack, view: Mapping[str, Any]) -> None:
        self.stack = stack
        self.view = dict(view)
        """A modal the bot really opened, so submissions carry its own metadata."""
        self._client = httpx.Client(timeout=10)
        self._sent = 0

    def close(self) -> None:
        self._client.close()

    @property
    def url(self) -> str:
        return self.stack.bot.url + EVENTS_PATH

    # Signing

    def signed(self, body: bytes, *, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
        # Cases that send the same body would share a signature within one second, and the bot
        # refuses a replayed signature; a timestamp of its own per send keeps each one fresh.
        if timestamp is None:
            self._sent += 1
            timestamp = int(time.time()) - self._sent % 120
        return sign(body, secret, timestamp)

    # Bodies Slack would send, for a case to spoil

    def command_fields(self, text: str = "", *, user_id: str = OPERATOR, channel_id: str = CHANNEL) -> dict[str, str]:
        """A slash command's fields with a fresh trigger and response URL from the Slack peer."""
        peer = self.stack.slack
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": DEFAULT_TEAM_ID,
            "team_domain": peer.team_domain,
            "channel_id": channel_id,
            "channel_name": "ops",
            "user_id": user_id,
            "user_name": "operator",
            "command": "/enable-schedule",
            "text": text,
            "api_app_id": peer.app_id,
            "is_enterprise_install": "false",
            "response_url": peer.response_url(),
            "trigger_id": peer.issue_trigger(),
        }

    def command(self, text: str = "", **fields: str) -> bytes:
        return form({**self.command_fields(text), **fields})

    def submission_payload(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A view_submission of the bot's modal; ``values`` is its ``state.values``."""
        peer = self.stack.slack
        view = self.view
        return {
            "type": "view_submission",
            "team": {"id": DEFAULT_TEAM_ID, "domain": peer.team_domain},
            "user": {"id": OPERATOR, "username": "operator", "name": "operator", "team_id": DEFAULT_TEAM_ID},
            "api_app_id": peer.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": peer.issue_trigger(view_id=view["id"]),
            "view": {
                "id": view["id"],
                "team_id": DEFAULT_TEAM_ID,
                "type": "modal",
                "blocks": copy.deepcopy(view["blocks"]),
                "private_metadata": view["private_metadata"],
                "callback_id": view["callback_id"],
                "state": {"values": copy.deepcopy(dict(values or {}))},
                "hash": view["hash"],
                "title": view["title"],
                "close": view.get("close"),
                "submit": view.get("submit"),
                "previous_view_id": None,
                "root_view_id": view["id"],
                "app_id": peer.app_id,
                "external_id": "",
                "app_installed_team_id": DEFAULT_TEAM_ID,
                "bot_id": peer.bot_id,
            },
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def action_payload(self, action_id: str, block_id: str = "ticket_actions") -> dict[str, Any]:
        """A block_actions click in the bot's modal."""
        payload = self.submission_payload()
        payload["type"] = "block_actions"
        payload["container"] = {"type": "view", "view_id": self.view["id"]}
        payload["actions"] = [
            {"type": "button", "action_id": action_id, "block_id": block_id, "action_ts": f"{time.time():.6f}"}
        ]
        del payload["response_urls"]
        return payload

    # Sending

    def send(self, body: bytes, headers: Mapping[str, str | bytes] | None = None, *, signed: bool = True) -> Answer:
        """POST ``body`` as a form, signed with the signing secret unless ``signed`` is false.

        ``headers`` are added last, so they can replace the signature; a bytes value goes
        out exactly as given, which is how non-ASCII header values are sent.
        """
        sent: dict[str, str | bytes] = {"Content-Type": FORM}
        if signed:
            sent.update(self.signed(body))
        sent.update(headers or {})
        response = self._client.post(self.url, content=body, headers=sent)
        return Answer(response.status_code, response.content)

    def send_chunked(self, body: bytes, chunk: int = 64 * 1024) -> Answer:
        """POST ``body`` signed, with ``Transfer-Encoding: chunked`` and no ``Content-Length``."""

        def chunks() -> Any:
            for start in range(0, len(body), chunk):
                yield body[start : start + chunk]

        headers = {"Content-Type": FORM, **self.signed(body)}
        try:
            response = self._client.post(self.url, content=chunks(), headers=headers)
        except httpx.RemoteProtocolError:
            # The bot may answer 413 and close before the last chunk is sent.
            return Answer(None, b"")
        return Answer(response.status_code, response.content)

    def send_raw(self, head: bytes, body: bytes = b"", *, half_close: bool = False) -> Answer:
        """Write ``head`` and ``body`` on a fresh connection and read whatever comes back.

        With ``half_close`` the client shuts its side for writing after the body, as a
        client that died mid-upload does, and the answer (if any) is still read.
        """
        port = self.stack.bot.port
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(head + body)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            received = b""
            try:
                while chunk := sock.recv(65536):
                    received += chunk
                    if _complete(received):
                        break
            except (ConnectionResetError, TimeoutError):
                pass
        return _parse_raw(received)

    def raw_head(
        self, body: bytes, *, content_length: int | str | None, extra: Mapping[str, str] | None = None
    ) -> bytes:
        """An HTTP/1.1 request head for a signed ``body``, with ``content_length`` as given."""
        lines = [f"POST {EVENTS_PATH} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {FORM}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in self.signed(body).items()]
        if content_length is not None:
            lines.append(f"Content-Length: {content_length}")
        lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _complete(received: bytes) -> bool:
    head, sep, rest = received.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value.strip())
    return False


def _parse_raw(received: bytes) -> Answer:
    if not received:
        return Answer(None, b"")
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    return Answer(int(status_line[1]) if len(status_line) > 1 else None, rest)
