"""What ``/healthz`` and ``/readyz`` report, kept current off the request path.

``/healthz`` answers 200 while the process runs. ``/readyz`` answers 200 only while Slack
accepted the bot token, the identity map is loaded, the audit store answers and, in Socket
Mode, the WebSocket to Slack is connected and fresh; otherwise 503 with what is wrong.

In HTTP mode the probes share the port with Slack's requests. In Socket Mode nothing else
listens, so :func:`serve_probes` serves them alone on ``HOST``:``PORT``; a platform's health
check then works the same in both modes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"


@dataclass
class Readiness:
    """Flags the background checks keep current; the probes only read them."""

    slack_auth: bool = False
    identity_map: bool = False
    store: bool = False
    socket: bool | None = None
    """Socket Mode only: whether the WebSocket is connected and fresh."""
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return self.slack_auth and self.identity_map and self.store and self.socket is not False

    def report(self) -> dict[str, object]:
        checks: dict[str, object] = {
            "slack_auth": self.slack_auth,
            "identity_map": self.identity_map,
            "store": self.store,
        }
        if self.socket is not None:
            checks["socket"] = self.socket
        return {"ready": self.ready, "checks": checks, "problems": dict(self.problems)}


def probe_routes(readiness: Readiness) -> list[Route]:
    """``GET /healthz`` and ``GET /readyz``, for any Starlette app."""

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        return JSONResponse(readiness.report(), status_code=200 if readiness.ready else 503)

    return [
        Route(HEALTH_PATH, healthz, methods=["GET"]),
        Route(READY_PATH, readyz, methods=["GET"]),
    ]


class _ProbeServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The bot's own SIGTERM handler stops the probes last; uvicorn would take the
        # signal for itself and raise it again once it stopped, killing the drain.
        yield


async def serve_probes(readiness: Readiness, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve the probes alone until ``stop`` is set."""
    config = uvicorn.Config(
        Starlette(routes=probe_routes(readiness)),
        host=host,
        port=port,
        lifespan="off",
        access_log=False,
        log_config=None,
    )
    server = _ProbeServer(config)
    serving = asyncio.create_task(server.serve(), name="health probes")
    stopping = asyncio.create_task(stop.wait(), name="health probes stop")
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    server.should_exit = True
    await serving
    if not stop.is_set():
        raise RuntimeError(f"the health probes on {host}:{port} stopped on their own; see the lines above")
