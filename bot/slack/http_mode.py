"""HTTP mode: Slack's requests on ``POST /slack/events``, and the health probes."""

from __future__ import annotations

import logging

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from bot import logs
from bot.health import Readiness, probe_routes
from bot.slack import edge

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise edge.Refusal(400, "the client went away before the whole body arrived") from exc
    return b"".join(chunks)


def create_app(bolt: AsyncApp, signing_secret: str, readiness: Readiness) -> Starlette:
    secret = signing_secret.encode()
    replays = edge.ReplayGuard()

    async def slack_events(request: Request) -> Response:
        request_id = logs.new_request_id()
        try:
            body = await _read_body(request, edge.MAX_BODY_BYTES)
            now = edge.now()
            signature = edge.verify_signature(request.headers, body, secret, now)
            if not replays.first_time(signature, now):
                raise edge.Refusal(401, "replayed request")
            parsed = edge.bolt_body(edge.check_shape(body))
        except _TooLarge:
            log.warning("refused request: body over %d bytes", edge.MAX_BODY_BYTES)
            return Response("request body too large", status_code=413)
        except edge.Refusal as refusal:
            log.warning("refused request: %s", refusal.reason)
            return Response(status_code=refusal.status, content=refusal.reason)

        # Bolt parses a raw body its own way (any "payload" in a slash command's text empties
        # it), so it gets the body the edge verified and read. Bolt takes a parsed body only
        # under its "socket_mode" name, which does nothing else than skip Bolt's own signature
        # check, done above on the raw bytes.
        bolt_request = AsyncBoltRequest(
            body=parsed,
            query=dict(request.query_params),
            headers=edge.forwarded_headers(request.headers),
            context={"request_id": request_id},
            mode="socket_mode",
        )
        # Bolt's error handler (bot.runtime) logs the one line for an unhandled request.
        return to_starlette_response(await bolt.async_dispatch(bolt_request))

    return Starlette(routes=[Route(EVENTS_PATH, slack_events, methods=["POST"]), *probe_routes(readiness)])
