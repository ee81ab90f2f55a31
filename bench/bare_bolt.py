"""The baseline: a bare Bolt app that only acknowledges the command and opens the same modal.

It runs on the bot's server stack (uvicorn and Bolt's Starlette adapter, no access log) and
talks to the same Slack peer, so the bot's throughput divided by this app's is the cost of
everything the bot adds: its own signature and replay checks, identity resolution, logging.

``python -m bench.bare_bolt --port P --slack-api-url URL``
"""

from __future__ import annotations

import argparse
from typing import Any

import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.slack import blocks
from bot.slack.metadata import ModalOrigin
from tests.integration.stack import BOT_TOKEN, SIGNING_SECRET

IDENTITY = "ops-prod"


def create_app(slack_api_url: str) -> Starlette:
    bolt = AsyncApp(
        client=AsyncWebClient(token=BOT_TOKEN, base_url=slack_api_url, timeout=10),
        signing_secret=SIGNING_SECRET,
        process_before_response=False,
    )

    @bolt.command("/enable-schedule")
    async def enable_schedule(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        origin = ModalOrigin(str(command.get("channel_id", "")), command.get("response_url"), ticket_rows=1)
        view = blocks.enable_modal(
            identity=IDENTITY, metadata=origin.encode(), task_id=None, ticket_rows=1, require_ticket=False
        )
        await client.views_open(trigger_id=command.get("trigger_id", ""), view=view)

    handler = AsyncSlackRequestHandler(bolt)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_bolt", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slack-api-url", required=True)
    args = parser.parse_args(argv)
    app = create_app(args.slack_api_url)
    uvicorn.run(app, host="127.0.0.1", port=args.port, lifespan="off", access_log=False, log_config=None)


if __name__ == "__main__":
    main()
