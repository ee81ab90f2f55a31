"""Client CPU per signed COC enable call: the bot's client against Huawei's official one.

Each client runs in a process of its own (``python -m bench.coc_cost ours|official …``) and
enables tasks the COC peer knows, one call after another, so that the process's CPU time
over the measured calls is that client's cost: building, signing, sending, reading the
answer. The peer, in another process, is not counted.
"""

# ruff: noqa: PLC0415  each process imports only its own client, so neither carries the other's objects

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import Child
from bench.slack_requests import new_task_id
from bench.stack import Peer
from tests.integration.stack import PROD_AK, PROD_DOMAIN, PROD_SK

CLIENTS = ("ours", "official")
WARMUP_CALLS = 100
TICKET = {"ticket_type": "CHANGE", "ticket_id": "CH-2031", "target_id": "app-payments", "scope_id": "cn-north-4"}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _measure(calls: Sequence[str], enable: Callable[[str], Any]) -> dict[str, float]:
    for task_id in calls[:WARMUP_CALLS]:
        enable(task_id)
    measured = calls[WARMUP_CALLS:]
    cpu_before, wall_before = _cpu(), time.perf_counter()
    for task_id in measured:
        enable(task_id)
    return {
        "calls": len(measured),
        "cpu_seconds": _cpu() - cpu_before,
        "wall_seconds": time.perf_counter() - wall_before,
    }


def ours(url: str, task_ids: Sequence[str]) -> dict[str, float]:
    from pydantic import SecretStr

    from bot.coc.client import CocClient
    from bot.coc.tasks import Ticket, TicketType
    from bot.identities.credentials import Credentials
    from bot.transport import new_client

    credentials = Credentials(PROD_AK, SecretStr(PROD_SK))
    tickets = [
        Ticket(TicketType.CHANGE, TICKET["ticket_id"], target_id=TICKET["target_id"], scope_id=TICKET["scope_id"])
    ]

    async def main() -> dict[str, float]:
        # The bot's own client, with COC's default timeout.
        async with new_client(10.0) as http:
            coc = CocClient(http, url, retries=2)
            for task_id in task_ids[:WARMUP_CALLS]:
                await coc.enable_task(task_id, tickets, credentials, PROD_DOMAIN)
            measured = task_ids[WARMUP_CALLS:]
            cpu_before, wall_before = _cpu(), time.perf_counter()
            for task_id in measured:
                await coc.enable_task(task_id, tickets, credentials, PROD_DOMAIN)
            return {
                "calls": len(measured),
                "cpu_seconds": _cpu() - cpu_before,
                "wall_seconds": time.perf_counter() - wall_before,
            }

    return asyncio.run(main())


def official(url: str, task_ids: Sequence[str]) -> dict[str, float]:
    from huaweicloudsdkcoc.v1 import CocClient as OfficialCocClient
    from huaweicloudsdkcoc.v1 import EnableScheduledTaskRequest, EnableScheduledTaskRequestBody, TicketInfo
    from huaweicloudsdkcore.auth.credentials import GlobalCredentials
    from huaweicloudsdkcore.http.http_config import HttpConfig

    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    config.retry_times = 0
    client = (
        OfficialCocClient.new_builder()
        .with_http_config(config)
        .with_credentials(GlobalCredentials(PROD_AK, PROD_SK, PROD_DOMAIN))
        .with_endpoints([url])
        .build()
    )

    def enable(task_id: str) -> Any:
        body = EnableScheduledTaskRequestBody(ticket_infos=[TicketInfo(**TICKET)])
        return client.enable_scheduled_task(EnableScheduledTaskRequest(task_id=task_id, body=body))

    return _measure(task_ids, enable)


@dataclass(frozen=True)
class ClientCost:
    client: str
    calls: int
    cpu_seconds: float
    wall_seconds: float

    @property
    def cpu_per_call_ms(self) -> float:
        return self.cpu_seconds / self.calls * 1000


def measure(coc: Peer, workdir: Path, calls: int, rounds: int) -> list[ClientCost]:
    """Each client in fresh processes of its own, on tasks of its own, the two taking turns.

    Taking turns, and summing over the rounds, evens out what else the machine was doing.
    """
    totals = {client: ClientCost(client, 0, 0.0, 0.0) for client in CLIENTS}
    for number in range(rounds):
        for client in CLIENTS:
            task_ids = [new_task_id(f"{client[0].upper()}{number}{index:06d}") for index in range(calls + WARMUP_CALLS)]
            coc.post("tasks", {"ids": task_ids})
            tasks_path, out_path = workdir / f"coc-{client}.tasks.json", workdir / f"coc-{client}.json"
            tasks_path.write_text(json.dumps(task_ids), encoding="utf-8")
            args = ["bench.coc_cost", client, "--url", coc.url, "--tasks", str(tasks_path), "--out", str(out_path)]
            child = Child(f"coc-cost-{client}", args, workdir).start()
            assert child.process is not None
            if child.process.wait(timeout=300) != 0:
                raise RuntimeError(f"the {client} COC client run failed:\n{child.log_tail()}")
            one = json.loads(out_path.read_text(encoding="utf-8"))
            total = totals[client]
            totals[client] = ClientCost(
                client,
                total.calls + one["calls"],
                total.cpu_seconds + one["cpu_seconds"],
                total.wall_seconds + one["wall_seconds"],
            )
            tasks_path.unlink()
    return list(totals.values())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.coc_cost", description=__doc__)
    parser.add_argument("client", choices=CLIENTS)
    parser.add_argument("--url", required=True)
    parser.add_argument("--tasks", type=Path, required=True, help="JSON list of task IDs the peer knows")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    task_ids = json.loads(args.tasks.read_text(encoding="utf-8"))
    result = (ours if args.client == "ours" else official)(args.url, task_ids)
    args.out.write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main()
