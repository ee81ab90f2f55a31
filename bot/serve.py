"""Running the bot until SIGTERM: HTTP mode through uvicorn, or Socket Mode."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from types import FrameType

import uvicorn

from bot import logs
from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from bot.slack import http_mode, socket_mode

log = logging.getLogger(__name__)

HTTP_DRAIN_SECONDS = 5.0
"""How long uvicorn waits for open Slack requests; the rest of the grace goes to enables."""
YOUNG_GC_THRESHOLD = 5000
"""Allocations between collections of the youngest generation; Python's default is 700."""


class _DrainingServer(uvicorn.Server):
    """uvicorn, minus re-raising SIGTERM once it has stopped.

    uvicorn raises a captured signal again after its own shutdown, which would end the
    process before the enables in flight are finished and posted. Here the signal only
    asks uvicorn to stop; :func:`run` then drains and returns, and the process exits 0.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C means "now"
        else:
            self.should_exit = True


async def run(settings: Settings | None = None) -> None:
    settings = settings or load_settings()
    logs.configure(settings.log.log_level, settings.log.log_format)
    runtime = await Runtime.create(settings)
    try:
        await runtime.start()
        _tune_garbage_collector()
        if settings.slack.socket_mode:
            await _socket_mode(runtime)
        else:
            await _http_mode(runtime)
    finally:
        # uvicorn has had its part of the grace in HTTP mode; the enables get the rest.
        spent = 0.0 if settings.slack.socket_mode else HTTP_DRAIN_SECONDS
        await runtime.stop(max(settings.server.shutdown_grace_seconds - spent, 0.0))
    log.info("stopped")


def _tune_garbage_collector() -> None:
    """Keep the cycle collector from stalling every request in flight.

    What start-up built lives as long as the process: frozen, it is left out of the full
    passes, which would otherwise walk all of it. And an enable holds its objects for as long
    as COC takes to answer, about a second: at Python's default thresholds the young
    generations are collected so often that those objects reach the old one, whose passes
    then stalled requests for up to 150 ms at 100 enables a second. Collected a seventh as
    often, they are freed before they get there. (Rarer still lets more garbage pile up
    between collections: at 7000 the process held 15 MB more after the benchmark's burst.)
    """
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, middle, old)


async def _http_mode(runtime: Runtime) -> None:
    settings = runtime.settings
    assert settings.slack.signing_secret is not None, "load_settings requires it in HTTP mode"
    app = http_mode.create_app(runtime.bolt, settings.slack.signing_secret.get_secret_value(), runtime.readiness)
    config = uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        lifespan="off",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=int(HTTP_DRAIN_SECONDS),
        proxy_headers=True,
    )
    server = _DrainingServer(config)
    log.info("serving Slack requests on %s:%d%s", settings.server.host, settings.server.port, http_mode.EVENTS_PATH)
    await server.serve()
    log.info("SIGTERM or SIGINT: no new requests; finishing enables in flight")


async def _socket_mode(runtime: Runtime) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await socket_mode.run(runtime, stop)
    log.info("SIGTERM or SIGINT: disconnected; finishing enables in flight")
