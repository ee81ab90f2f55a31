"""Socket Mode: the same Bolt app over a WebSocket, for hosts without a public URL."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    """Stay connected until ``stop`` is set."""
    app_token = runtime.settings.slack.app_token
    assert app_token is not None, "Socket Mode runs only when SLACK_APP_TOKEN is set"
    handler = AsyncSocketModeHandler(runtime.bolt, app_token.get_secret_value(), web_client=runtime.slack)
    runtime.readiness.socket = False
    await handler.connect_async()  # type: ignore[no-untyped-call]
    runtime.readiness.socket = True
    log.info("connected to Slack through Socket Mode")
    try:
        await stop.wait()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        runtime.readiness.socket = False
