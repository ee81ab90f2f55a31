"""HTTP mode: Slack's requests on ``POST /slack/events``, and the health probes."""

from __future__ import annotations

import logging

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import logs
from bot.health import Readiness
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
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(bolt: AsyncApp, signing_secret: str, readiness: Readiness) -> Starlette:
    secret = signing_secret.encode()
    replays = edge.ReplayGuard()

    async def slack_events(request: Request) -> Response:
        request_id = logs.new_request_id()
        try:
            body = await _read_body(request, edge.MAX_BODY_BYTES)
        except _TooLarge:
            log.warning("refused request: body over %d bytes", edge.MAX_BODY_BYTES)
            return Response("request body too large", status_code=413)
        try:
            now = edge.now()
            signature = edge.verify_signature(request.headers, body, secret, now)
            if not replays.first_time(signature, now):
                raise edge.Refusal(401, "replayed request")
            edge.check_shape(body)
        except edge.Refusal as refusal:
            log.warning("refused request: %s", refusal.reason)
            return Response(status_code=refusal.status, content=refusal.reason)

        bolt_request = AsyncBoltRequest(
            body=body.decode("utf-8"),
            query=dict(request.query_params),
            headers=edge.forwarded_headers(request.headers),
            context={"request_id": request_id},
        )
        bolt_response = await bolt.async_dispatch(bolt_request)
        if bolt_response.status >= 400:
            log.warning("Slack request answered %d by Bolt", bolt_response.status)
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        return JSONResponse(readiness.report(), status_code=200 if readiness.ready else 503)

    return Starlette(
        routes=[
            Route(EVENTS_PATH, slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ]
    )
