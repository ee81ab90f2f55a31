"""What became of submitted enables: COC calls, posted outcomes and audit records per task."""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.stack import Peers
from bot.audit.records import AuditRecord
from bot.audit.store import AuditStore, Outcome

_TASK_ID = re.compile(r"ST[A-Za-z0-9]{24}")
_ENABLE_PATH = re.compile(r"/v1/schedule/task/(ST[A-Za-z0-9]{24})/enable")
OUTCOME_TIMEOUT = 90.0


@dataclass
class Tally:
    tasks: int
    coc_calls: Counter[str]
    outcomes: Counter[str]
    audit_records: Counter[str]
    enabled_records: int
    other_deliveries: int
    """Outcomes that reached the user some other way than the channel: response URL, ephemeral."""
    overheads: list[float]
    """Per task: seconds from the submission being due to the outcome posted, less COC's delay."""
    before_coc: list[float]
    """Per task: seconds from the submission being due to COC receiving the enable."""

    def lost(self, counts: Counter[str], wanted: Sequence[str]) -> int:
        return sum(1 for task_id in wanted if counts[task_id] == 0)

    def duplicated(self, counts: Counter[str], wanted: Sequence[str]) -> int:
        return sum(1 for task_id in wanted if counts[task_id] > 1)


def _outcome_calls(peers: Peers, since: float, wanted: set[str]) -> list[tuple[str, float]]:
    found = []
    for call in peers.slack.get("calls", method="chat.postMessage", since=since):
        for task_id in set(_TASK_ID.findall(call.get("text") or "")) & wanted:
            found.append((task_id, float(call["at"])))
    return found


def wait_for_outcomes(peers: Peers, since: float, task_ids: Sequence[str], timeout: float = OUTCOME_TIMEOUT) -> None:
    """Return once every task has an outcome posted, or ``timeout`` passed; the tally tells which."""
    wanted = set(task_ids)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if {task_id for task_id, _ in _outcome_calls(peers, since, wanted)} >= wanted:
            # A duplicate would come right after the first post; give it the time to show.
            time.sleep(1.0)
            return
        time.sleep(0.5)


def tally(
    peers: Peers,
    database_url: str,
    since: float,
    coc_calls_before: int,
    due: Mapping[str, float],
    coc_delay: float,
) -> Tally:
    wanted = set(due)
    coc_calls: Counter[str] = Counter()
    coc_first: dict[str, float] = {}
    for call in peers.coc.get("calls", since=coc_calls_before):
        match = _ENABLE_PATH.fullmatch(call["path"])
        if call["method"] == "POST" and match and match[1] in wanted:
            coc_calls[match[1]] += 1
            coc_first.setdefault(match[1], float(call["at"]))

    outcomes: Counter[str] = Counter()
    posted: dict[str, float] = {}
    for task_id, at in _outcome_calls(peers, since, wanted):
        outcomes[task_id] += 1
        posted.setdefault(task_id, at)
    other = sum(
        1
        for method in ("response_url", "chat.postEphemeral")
        for call in peers.slack.get("calls", method=method, since=since)
        if wanted & set(_TASK_ID.findall(call.get("text") or ""))
    )

    records: Counter[str] = Counter()
    enabled = 0
    for record in asyncio.run(_records(database_url, limit=2 * len(wanted) + 1000)):
        if record.task_id in wanted:
            records[record.task_id] += 1
            enabled += record.outcome is Outcome.ENABLED

    return Tally(
        tasks=len(wanted),
        coc_calls=coc_calls,
        outcomes=outcomes,
        audit_records=records,
        enabled_records=enabled,
        other_deliveries=other,
        overheads=[posted[task_id] - due[task_id] - coc_delay for task_id in posted],
        before_coc=[coc_first[task_id] - due[task_id] for task_id in coc_first],
    )


async def _records(database_url: str, *, limit: int) -> list[AuditRecord]:
    """The newest audit records, read through the store as ``python -m bot audit`` reads them."""
    async with await AuditStore.open(database_url) as store:
        return await store.query(limit=limit)
