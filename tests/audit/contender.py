"""One bot process in a race: ``python -m tests.audit.contender DATABASE_URL SUBMISSION_KEY``.

It waits for a line on stdin before opening the store and for another before beginning
its attempt on the shared task, so that every contender migrates together and begins
together. It prints ``ready`` once the store is open, then a JSON line saying how its
attempt went.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta

from bot.audit.store import AuditStore, DuplicateSubmission, TaskInFlight
from tests.audit.attempts import attempt


async def contend(database_url: str, submission_key: str) -> dict[str, object]:
    sys.stdin.readline()
    async with await AuditStore.open(database_url) as store:
        print("ready", flush=True)
        sys.stdin.readline()
        try:
            record = await store.begin(attempt(submission_key=submission_key), lease=timedelta(minutes=1))
        except DuplicateSubmission as exc:
            return {"duplicate": exc.existing.id}
        except TaskInFlight as exc:
            return {"in_flight": exc.holder.id}
        return {"created": record.id}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(contend(sys.argv[1], sys.argv[2]))), flush=True)
