"""The audit store: every enable attempt recorded before COC is called, finished after.

The database, not the bot, guarantees exactly-once: a submission's Slack view ID is unique,
and so is a task ID among pending records. Two deliveries of one submission, two people
clicking at once or two bot processes on one database therefore meet a constraint, never a
race between a read and a write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import URL, Connection, Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql import ColumnElement

from bot.audit.database_url import driver_url, redacted
from bot.audit.engine import Database, open_database
from bot.audit.migrate import upgrade
from bot.audit.records import Attempt, AuditRecord, Outcome, tickets_from_json, tickets_to_json
from bot.audit.schema import ERROR_MSG_LENGTH, NAME_LENGTH, NOTE_LENGTH, audit_records
from bot.errors import StoreError

__all__ = [
    "Attempt",
    "AuditRecord",
    "AuditStore",
    "DuplicateSubmission",
    "Outcome",
    "TaskInFlight",
]

logger = logging.getLogger(__name__)

_table = audit_records
_columns = tuple(audit_records.c)
_PENDING = Outcome.PENDING.value

# Built once: SQLAlchemy then compiles each of them once, not on every call.
_INSERT = insert(_table).returning(*_columns)
_FINISH = update(_table).where(_table.c.id == bindparam("record_id"), _table.c.outcome == _PENDING).returning(*_columns)
_EXTEND = (
    update(_table)
    .where(_table.c.id == bindparam("record_id"), _table.c.outcome == _PENDING)
    .values(lease_until=bindparam("until"))
    .returning(_table.c.id)
)
_TAKE_OVER = (
    update(_table)
    .where(
        _table.c.id == bindparam("record_id"), _table.c.outcome == _PENDING, _table.c.lease_until <= bindparam("now")
    )
    .values(lease_until=bindparam("until"))
    .returning(_table.c.id)
)

# A conflicting record can finish between our failed insert and the read that looks for
# it; the insert is then simply tried again.
_BEGIN_TRIES = 3


class DuplicateSubmission(StoreError):
    """This submission (the same Slack view) already has an audit record."""

    def __init__(self, existing: AuditRecord) -> None:
        super().__init__(
            f"Submission {existing.submission_key!r} already has audit record {existing.id} "
            f"({existing.outcome.value}) for task {existing.task_id}"
        )
        self.existing = existing


class TaskInFlight(StoreError):
    """Another submission's enable of the same task is still pending."""

    def __init__(self, holder: AuditRecord) -> None:
        lease = holder.lease_until.isoformat() if holder.lease_until else "none"
        super().__init__(
            f"Task {holder.task_id} already has an enable in flight: audit record {holder.id}, leased until {lease}"
        )
        self.holder = holder


class AuditStore:
    """The audit trail on SQLite or PostgreSQL. Create it with :meth:`open`."""

    def __init__(self, database: Database, url: URL) -> None:
        self._database = database
        self._where = redacted(url)

    @classmethod
    async def open(cls, database_url: str) -> AuditStore:
        """Connect to ``database_url`` (``DATABASE_URL``) and bring its schema up to date.

        Raises ConfigError for a URL that cannot be used, StoreError when the database
        cannot be reached or migrated.
        """
        url = driver_url(database_url)
        _check_sqlite_folder(url)
        store = cls(open_database(url), url)
        try:
            async with store._translated("prepare the audit schema"):
                await upgrade(store._database)
        except BaseException:
            await store.close()
            raise
        logger.info("Audit store ready at %s", store._where)
        return store

    async def close(self) -> None:
        await self._database.dispose()

    async def __aenter__(self) -> AuditStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def ping(self) -> None:
        """Raise StoreError unless the database answers."""
        async with self._translated("answer a ping"):
            await self._database.read(lambda connection: connection.execute(select(1)).one())

    async def begin(self, attempt: Attempt, *, lease: timedelta) -> AuditRecord:
        """Record ``attempt`` as pending, held for ``lease`` unless :meth:`extend` renews it.

        Raises DuplicateSubmission when the attempt's submission already has a record, and
        TaskInFlight when another record of the task is pending.
        """
        _check_lease(lease)
        now = _now()
        values = {
            **_attempt_columns(attempt, now),
            "outcome": _PENDING,
            "submission_key": attempt.submission_key,
            "lease_until": now + lease,
        }

        for _ in range(_BEGIN_TRIES):
            try:
                record = await self._insert(values, f"record an attempt on task {attempt.task_id}")
            except IntegrityError as exc:
                conflict = exc
            else:
                logger.debug("Audit record %s pending for task %s", record.id, record.task_id)
                return record

            if attempt.submission_key is not None:
                existing = await self._one(_table.c.submission_key == attempt.submission_key)
                if existing is not None:
                    raise DuplicateSubmission(existing) from conflict
            holder = await self._one(_table.c.task_id == attempt.task_id, _table.c.outcome == _PENDING)
            if holder is not None:
                raise TaskInFlight(holder) from conflict

        raise StoreError(
            f"The audit store at {self._where} kept refusing a record for task {attempt.task_id} "
            f"without a conflicting record to show; check the {_table.name} table's constraints"
        )

    async def finish(
        self,
        record_id: int,
        outcome: Outcome,
        *,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
        note: str | None = None,
    ) -> AuditRecord:
        """Complete the pending record ``record_id`` with COC's answer.

        Raises StoreError when the record does not exist or is no longer pending (for
        instance because start-up reconciliation finished it first).
        """
        if outcome is Outcome.PENDING:
            raise ValueError("finish() needs a final outcome; pending is where records start")
        values = {
            "outcome": outcome.value,
            "finished_at": _now(),
            "lease_until": None,
            "error_code": _clip(error_code, NAME_LENGTH),
            "error_msg": _clip(error_msg, ERROR_MSG_LENGTH),
            "request_id": _clip(request_id, NAME_LENGTH),
            "note": _clip(note, NOTE_LENGTH),
        }

        async with self._translated(f"finish audit record {record_id}"):
            row = await self._database.write(_one_or_none(_FINISH, {"record_id": record_id, **values}))

        if row is None:
            raise self._not_pending(record_id, await self.get(record_id))
        record = _record(row)
        logger.debug("Audit record %s finished %s for task %s", record.id, record.outcome, record.task_id)
        return record

    async def refuse(self, attempt: Attempt, *, error_code: str | None, error_msg: str) -> AuditRecord:
        """Record an attempt the bot declined before calling COC.

        The record keeps no submission key, so that the user can correct the same modal and
        submit it again.
        """
        now = _now()
        values = {
            **_attempt_columns(attempt, now),
            "finished_at": now,
            "outcome": Outcome.REFUSED.value,
            "error_code": _clip(error_code, NAME_LENGTH),
            "error_msg": _clip(error_msg, ERROR_MSG_LENGTH),
        }
        return await self._insert(values, f"record a refusal on task {attempt.task_id}")

    async def get(self, record_id: int) -> AuditRecord | None:
        return await self._one(_table.c.id == record_id)

    async def wait_finished(
        self,
        record_id: int,
        *,
        timeout: float,  # noqa: ASYNC109  bounds polling for a record another process finishes
        poll: float = 0.25,
    ) -> AuditRecord | None:
        """The record once it is no longer pending, or ``None`` if it is missing or still
        pending after ``timeout`` seconds. Another process may be the one finishing it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            record = await self.get(record_id)
            if record is None or record.finished:
                return record
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(poll, remaining))

    async def abandoned(self, now: datetime | None = None) -> list[AuditRecord]:
        """Pending records whose lease has passed: their holder stopped before finishing."""
        moment = _aware(now, "now") if now is not None else _now()
        return await self._many(
            _table.c.outcome == _PENDING,
            _table.c.lease_until <= moment,
            order=(_table.c.created_at.asc(), _table.c.id.asc()),
        )

    async def take_over(self, record_id: int, *, lease: timedelta) -> bool:
        """Hold an abandoned record for ``lease``; true for exactly one of any concurrent callers."""
        _check_lease(lease)
        now = _now()
        parameters = {"record_id": record_id, "now": now, "until": now + lease}
        async with self._translated(f"take over audit record {record_id}"):
            taken = await self._database.write(_one_or_none(_TAKE_OVER, parameters)) is not None

        if taken:
            logger.info("Took over abandoned audit record %s", record_id)
        return taken

    async def extend(self, record_id: int, *, lease: timedelta) -> None:
        """Renew a pending record's lease so that nobody takes it over while COC is slow."""
        _check_lease(lease)
        parameters = {"record_id": record_id, "until": _now() + lease}
        async with self._translated(f"extend audit record {record_id}"):
            extended = await self._database.write(_one_or_none(_EXTEND, parameters)) is not None

        if not extended:
            raise self._not_pending(record_id, await self.get(record_id))

    async def query(
        self,
        *,
        task_id: str | None = None,
        slack_user: str | None = None,
        channel: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> list[AuditRecord]:
        """Records matching every filter given, newest first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        conditions: list[ColumnElement[bool]] = []
        if task_id is not None:
            conditions.append(_table.c.task_id == task_id)
        if slack_user is not None:
            conditions.append(_table.c.slack_user == slack_user)
        if channel is not None:
            conditions.append(_table.c.channel == channel)
        if since is not None:
            conditions.append(_table.c.created_at >= _aware(since, "since"))
        return await self._many(
            *conditions,
            order=(_table.c.created_at.desc(), _table.c.id.desc()),
            limit=limit,
        )

    async def _insert(self, values: dict[str, Any], action: str) -> AuditRecord:
        async with self._translated(action, passthrough=(IntegrityError,)):
            row = await self._database.write(lambda connection: connection.execute(_INSERT, values).one())
        return _record(row)

    async def _one(self, *conditions: ColumnElement[bool]) -> AuditRecord | None:
        found = await self._many(*conditions, limit=1)
        return found[0] if found else None

    async def _many(
        self,
        *conditions: ColumnElement[bool],
        order: tuple[ColumnElement[Any], ...] = (),
        limit: int | None = None,
    ) -> list[AuditRecord]:
        statement = select(*_columns).where(*conditions).order_by(*order).limit(limit)
        async with self._translated("read audit records"):
            rows = await self._database.read(lambda connection: connection.execute(statement).all())
        return [_record(row) for row in rows]

    def _not_pending(self, record_id: int, current: AuditRecord | None) -> StoreError:
        if current is None:
            return StoreError(f"Audit record {record_id} does not exist in the audit store at {self._where}")
        return StoreError(
            f"Audit record {record_id} is no longer pending: it was finished as "
            f"{current.outcome.value} at {current.finished_at}"
        )

    @asynccontextmanager
    async def _translated(self, action: str, *, passthrough: tuple[type[Exception], ...] = ()) -> AsyncIterator[None]:
        try:
            yield
        except passthrough:
            raise
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"The audit store at {self._where} could not {action}: {_reason(exc)}") from exc


def _one_or_none(statement: Any, parameters: dict[str, Any]) -> Callable[[Connection], Row[Any] | None]:
    return lambda connection: connection.execute(statement, parameters).one_or_none()


def _record(row: Row[Any]) -> AuditRecord:
    values = row._mapping
    try:
        tickets = tickets_from_json(values["tickets"])
        outcome = Outcome(values["outcome"])
    except (TypeError, KeyError, ValueError) as exc:
        raise StoreError(f"Audit record {values['id']} cannot be read: {exc}") from exc
    return AuditRecord(
        id=values["id"],
        created_at=values["created_at"],
        finished_at=values["finished_at"],
        slack_team=values["slack_team"],
        slack_user=values["slack_user"],
        channel=values["channel"],
        identity=values["identity"],
        task_id=values["task_id"],
        tickets=tickets,
        outcome=outcome,
        error_code=values["error_code"],
        error_msg=values["error_msg"],
        request_id=values["request_id"],
        note=values["note"],
        submission_key=values["submission_key"],
        lease_until=values["lease_until"],
    )


def _check_sqlite_folder(url: URL) -> None:
    # Said here rather than by the driver, whose failed connection lingers in a worker
    # thread and reports "unable to open database file" without saying which.
    if url.get_backend_name() != "sqlite" or url.database is None or url.query.get("uri"):
        return
    folder = Path(url.database).absolute().parent
    if not folder.is_dir():
        raise StoreError(
            f"DATABASE_URL={redacted(url)} puts the SQLite file in {folder}, which is not a "
            "folder; create it, or point DATABASE_URL at a file in an existing folder"
        )


def _attempt_columns(attempt: Attempt, now: datetime) -> dict[str, Any]:
    """The columns every record of an attempt starts with, pending or refused."""
    return {
        "created_at": now,
        "slack_team": attempt.slack_team,
        "slack_user": attempt.slack_user,
        "channel": attempt.channel,
        "identity": attempt.identity,
        "task_id": attempt.task_id,
        "tickets": tickets_to_json(attempt.tickets),
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, e.g. datetime.now(UTC); got {value.isoformat()}")
    return value


def _check_lease(lease: timedelta) -> None:
    if lease <= timedelta(0):
        raise ValueError(f"a lease must be longer than zero, not {lease}")


def _clip(value: str | None, limit: int) -> str | None:
    if value is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


def _reason(exc: BaseException) -> str:
    # A DBAPIError's own text repeats the statement and its parameters; the driver's
    # exception says what went wrong in fewer words.
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip() or type(cause).__name__
    return text if len(text) <= 300 else text[:299] + "…"
