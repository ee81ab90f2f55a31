"""The Slack and COC test peers, each served in its own process for the benchmark.

``python -m bench.peers slack --port P`` or ``python -m bench.peers coc --port P`` runs the
peer from ``tests/peers`` unchanged, plus a few routes under ``/_bench/`` through which the
benchmark, in another process, sets the peer up and reads back what it recorded. Every other
path reaches the peer exactly as it would in the tests.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.integration.stack import BOT_TOKEN, PROD_AK, PROD_DOMAIN, PROD_SK
from tests.peers.coc import CocPeer
from tests.peers.keyring import Key, Keyring
from tests.peers.slack import SlackPeer

CONTROL_PREFIX = "/_bench/"
BENCH_TRIGGER_TTL = 900.0
"""Pre-signed requests are built before a run, so their triggers must outlive it."""

Control = Callable[[Request], Awaitable[Response]]


class WithControl:
    """An ASGI app that sends ``/_bench/<name>`` to a control handler and the rest to the peer."""

    def __init__(self, peer_app: ASGIApp, controls: dict[str, Control]) -> None:
        self._peer_app = peer_app
        self._controls = controls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(CONTROL_PREFIX):
            handler = self._controls.get(path[len(CONTROL_PREFIX) :])
            request = Request(scope, receive)
            response = await handler(request) if handler else Response("no such control", status_code=404)
            await response(scope, receive, send)
            return
        await self._peer_app(scope, receive, send)


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    decoded = json.loads(body) if body else {}
    return decoded if isinstance(decoded, dict) else {}


async def _ping(_: Request) -> Response:
    return JSONResponse({"ok": True})


def slack_app(port: int) -> WithControl:
    peer = SlackPeer(BOT_TOKEN)
    # The peer builds response URLs from its own address, which serve() would otherwise set.
    peer.url = f"http://127.0.0.1:{port}"

    async def triggers(request: Request) -> Response:
        wanted = await _json_body(request)
        count = int(wanted.get("count", 1))
        ttl = float(wanted.get("ttl", BENCH_TRIGGER_TTL))
        return JSONResponse(
            {
                "triggers": [peer.issue_trigger(ttl=ttl) for _ in range(count)],
                "response_urls": [peer.response_url() for _ in range(int(wanted.get("response_urls", 0)))],
            }
        )

    async def calls(request: Request) -> Response:
        method = request.query_params.get("method")
        since = float(request.query_params.get("since", "0"))
        found = [call for call in peer.calls(method) if call.at >= since]
        return JSONResponse(
            [
                {
                    "method": call.method,
                    "at": call.at,
                    "status": call.status,
                    "ok": bool(call.response.get("ok")),
                    "error": call.response.get("error"),
                    "channel": call.params.get("channel"),
                    "text": call.params.get("text") if isinstance(call.params.get("text"), str) else None,
                    "trigger_id": call.params.get("trigger_id"),
                }
                for call in found
            ]
        )

    async def views(_: Request) -> Response:
        return JSONResponse(peer.views())

    async def reset(_: Request) -> Response:
        peer.reset()
        return JSONResponse({"ok": True})

    controls: dict[str, Control] = {
        "ping": _ping,
        "triggers": triggers,
        "calls": calls,
        "views": views,
        "reset": reset,
    }
    return WithControl(peer.app, controls)


def coc_app() -> WithControl:
    keyring = Keyring()
    keyring.add(Key(PROD_AK, PROD_SK, PROD_DOMAIN))
    peer = CocPeer(keyring)

    async def tasks(request: Request) -> Response:
        wanted = await _json_body(request)
        for task_id in wanted.get("ids", []):
            peer.add_task(task_id, "bench task", str(wanted.get("domain_id", PROD_DOMAIN)))
        return JSONResponse({"ok": True, "tasks": len(peer.tasks)})

    async def delay(request: Request) -> Response:
        peer.delay = float((await _json_body(request)).get("seconds", 0.0))
        return JSONResponse({"ok": True, "delay": peer.delay})

    async def calls(request: Request) -> Response:
        since = int(request.query_params.get("since", "0"))
        return JSONResponse(
            [
                {"method": call.method, "path": call.path, "status": call.status, "at": call.at.timestamp()}
                for call in peer.calls[since:]
            ]
        )

    controls: dict[str, Control] = {"ping": _ping, "tasks": tasks, "delay": delay, "calls": calls}
    return WithControl(peer, controls)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__)
    parser.add_argument("peer", choices=["slack", "coc"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    app = slack_app(args.port) if args.peer == "slack" else coc_app()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="off", access_log=False)


if __name__ == "__main__":
    main()
