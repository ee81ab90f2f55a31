"""The audit store's behaviour, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.audit.schema import ERROR_MSG_LENGTH
from bot.audit.store import AuditRecord, AuditStore, DuplicateSubmission, Outcome, TaskInFlight
from bot.coc.tasks import Ticket, TicketType
from bot.errors import StoreError
from tests.audit.attempts import OTHER_TASK, TASK, attempt, outlive_lease

LEASE = timedelta(minutes=2)


async def test_begin_records_a_pending_attempt_that_reads_back_whole(store: AuditStore) -> None:
    tickets = (
        Ticket(TicketType.CHANGE, "CH-1", target_id="app-1", scope_id="cn-north-4"),
        Ticket(TicketType.INCIDENT, "INC-7"),
    )
    before = datetime.now(UTC)

    record = await store.begin(attempt(tickets=tickets), lease=LEASE)

    assert record.outcome is Outcome.PENDING
    assert (record.slack_team, record.slack_user, record.channel) == ("T0TEAM", "U0ALICE", "C0OPS")
    assert (record.identity, record.task_id, record.submission_key) == ("ops-prod", TASK, "V0SUBMISSION")
    assert record.tickets == tickets
    assert record.created_at.tzinfo is not None
    assert before <= record.created_at
    assert record.lease_until == record.created_at + LEASE
    assert record.finished_at is None
    assert await store.get(record.id) == record


async def test_finish_completes_the_record_with_cocs_answer(store: AuditStore) -> None:
    record = await store.begin(attempt(), lease=LEASE)

    finished = await store.finish(
        record.id,
        Outcome.FAILED,
        error_code="COC.00040716",
        error_msg="The task does not exist.",
        request_id="req-42",
        note="after one retry",
    )

    assert finished.outcome is Outcome.FAILED
    assert (finished.error_code, finished.error_msg) == ("COC.00040716", "The task does not exist.")
    assert (finished.request_id, finished.note) == ("req-42", "after one retry")
    assert finished.finished_at is not None
    assert finished.finished_at >= finished.created_at
    assert finished.lease_until is None
    assert await store.get(record.id) == finished


async def test_a_long_error_message_is_kept_truncated(store: AuditStore) -> None:
    record = await store.begin(attempt(), lease=LEASE)

    finished = await store.finish(record.id, Outcome.FAILED, error_code="COC.1", error_msg="é" * 5000)

    assert finished.error_msg is not None
    assert len(finished.error_msg) == ERROR_MSG_LENGTH
    assert finished.error_msg.startswith("é" * 100)


async def test_a_record_cannot_be_finished_twice(store: AuditStore) -> None:
    record = await store.begin(attempt(), lease=LEASE)
    await store.finish(record.id, Outcome.ENABLED)

    with pytest.raises(StoreError, match="no longer pending"):
        await store.finish(record.id, Outcome.UNKNOWN)

    kept = await store.get(record.id)
    assert kept is not None
    assert kept.outcome is Outcome.ENABLED


async def test_finishing_a_missing_record_is_a_store_error(store: AuditStore) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        await store.finish(999, Outcome.ENABLED)


async def test_finish_refuses_pending_as_an_outcome(store: AuditStore) -> None:
    record = await store.begin(attempt(), lease=LEASE)

    with pytest.raises(ValueError, match="final outcome"):
        await store.finish(record.id, Outcome.PENDING)


async def test_the_same_submission_twice_is_a_duplicate(store: AuditStore) -> None:
    first = await store.begin(attempt(), lease=LEASE)

    with pytest.raises(DuplicateSubmission) as raised:
        await store.begin(attempt(), lease=LEASE)

    assert raised.value.existing == first


async def test_a_finished_submission_delivered_again_is_still_a_duplicate(store: AuditStore) -> None:
    first = await store.begin(attempt(), lease=LEASE)
    finished = await store.finish(first.id, Outcome.ENABLED, request_id="req-1")

    with pytest.raises(DuplicateSubmission) as raised:
        await store.begin(attempt(), lease=LEASE)

    assert raised.value.existing == finished


async def test_a_second_submission_of_a_pending_task_is_in_flight(store: AuditStore) -> None:
    holder = await store.begin(attempt(submission_key="V1"), lease=LEASE)

    with pytest.raises(TaskInFlight) as raised:
        await store.begin(attempt(submission_key="V2", slack_user="U0BOB"), lease=LEASE)

    assert raised.value.holder == holder
    assert len(await store.query(task_id=TASK)) == 1


async def test_a_task_can_be_enabled_again_once_its_record_is_finished(store: AuditStore) -> None:
    first = await store.begin(attempt(submission_key="V1"), lease=LEASE)
    await store.finish(first.id, Outcome.FAILED, error_code="COC.1", error_msg="no")

    second = await store.begin(attempt(submission_key="V2"), lease=LEASE)

    assert second.id != first.id
    assert second.outcome is Outcome.PENDING


async def test_pending_records_of_different_tasks_do_not_conflict(store: AuditStore) -> None:
    await store.begin(attempt(submission_key="V1"), lease=LEASE)

    other = await store.begin(attempt(submission_key="V2", task_id=OTHER_TASK), lease=LEASE)

    assert other.task_id == OTHER_TASK


async def test_submissions_without_a_key_do_not_conflict_on_the_key(store: AuditStore) -> None:
    first = await store.begin(attempt(submission_key=None), lease=LEASE)
    await store.finish(first.id, Outcome.ENABLED)

    second = await store.begin(attempt(submission_key=None), lease=LEASE)

    assert second.submission_key is None
    assert second.id != first.id


async def test_a_refusal_is_a_finished_record_that_blocks_nothing(store: AuditStore) -> None:
    refused = await store.refuse(
        attempt(identity=None), error_code="unmapped_user", error_msg="U0ALICE has no identity"
    )

    assert refused.outcome is Outcome.REFUSED
    assert refused.identity is None
    assert refused.submission_key is None
    assert refused.finished_at == refused.created_at
    assert (refused.error_code, refused.error_msg) == ("unmapped_user", "U0ALICE has no identity")
    # The same modal, corrected and submitted again, goes through.
    pending = await store.begin(attempt(), lease=LEASE)
    assert pending.outcome is Outcome.PENDING


async def test_abandoned_lists_only_pending_records_whose_lease_passed(store: AuditStore) -> None:
    short = await store.begin(attempt(submission_key="V1"), lease=timedelta(minutes=1))
    await store.begin(attempt(submission_key="V2", task_id=OTHER_TASK), lease=timedelta(hours=1))
    finished = await store.begin(attempt(submission_key="V3", task_id="ST" + "F" * 24), lease=timedelta(minutes=1))
    await store.finish(finished.id, Outcome.ENABLED)

    assert await store.abandoned(now=datetime.now(UTC)) == []
    later = await store.abandoned(now=datetime.now(UTC) + timedelta(minutes=5))

    assert [record.id for record in later] == [short.id]
    assert later[0].lease_passed(datetime.now(UTC) + timedelta(minutes=5))


async def test_take_over_holds_an_abandoned_record_for_a_new_lease(store: AuditStore) -> None:
    record = await store.begin(attempt(), lease=timedelta(milliseconds=1))
    await outlive_lease(record)

    assert await store.take_over(record.id, lease=LEASE)

    held = await store.get(record.id)
    assert held is not None
    assert held.lease_until is not None
    assert held.lease_until > datetime.now(UTC) + LEASE / 2
    assert await store.abandoned() == []


async def test_take_over_leaves_a_live_or_finished_record_alone(store: AuditStore) -> None:
    live = await store.begin(attempt(submission_key="V1"), lease=LEASE)
    done = await store.begin(attempt(submission_key="V2", task_id=OTHER_TASK), lease=timedelta(milliseconds=1))
    await store.finish(done.id, Outcome.ENABLED)
    await outlive_lease(done)

    assert not await store.take_over(live.id, lease=LEASE)
    assert not await store.take_over(done.id, lease=LEASE)
    assert not await store.take_over(12345, lease=LEASE)
    assert await store.get(live.id) == live


async def test_extend_pushes_a_pending_lease_out(store: AuditStore) -> None:
    record = await store.begin(attempt(), lease=timedelta(seconds=1))

    await store.extend(record.id, lease=timedelta(hours=1))

    extended = await store.get(record.id)
    assert extended is not None
    assert extended.lease_until is not None
    assert extended.lease_until > datetime.now(UTC) + timedelta(minutes=30)


async def test_extend_refuses_a_finished_record(store: AuditStore) -> None:
    record = await store.begin(attempt(), lease=LEASE)
    await store.finish(record.id, Outcome.ENABLED)

    with pytest.raises(StoreError, match="no longer pending"):
        await store.extend(record.id, lease=LEASE)


async def test_a_lease_must_be_longer_than_zero(store: AuditStore) -> None:
    with pytest.raises(ValueError, match="longer than zero"):
        await store.begin(attempt(), lease=timedelta(0))


async def test_wait_finished_returns_the_record_another_caller_finishes(store: AuditStore) -> None:
    record = await store.begin(attempt(), lease=LEASE)

    async def finish_soon() -> None:
        await asyncio.sleep(0.05)
        await store.finish(record.id, Outcome.ENABLED, request_id="req-9")

    waited, _ = await asyncio.gather(store.wait_finished(record.id, timeout=30, poll=0.01), finish_soon())

    assert waited is not None
    assert waited.outcome is Outcome.ENABLED
    assert waited.request_id == "req-9"


async def test_wait_finished_gives_none_for_a_record_still_pending(store: AuditStore) -> None:
    record = await store.begin(attempt(), lease=LEASE)

    assert await store.wait_finished(record.id, timeout=0.05, poll=0.01) is None


async def test_query_filters_and_lists_newest_first(store: AuditStore) -> None:
    oldest = await store.refuse(attempt(slack_user="U0BOB"), error_code=None, error_msg="no")
    middle = await store.refuse(attempt(task_id=OTHER_TASK, channel="C0DEV"), error_code=None, error_msg="no")
    cut = datetime.now(UTC)
    newest = await store.refuse(attempt(), error_code=None, error_msg="no")

    def ids(records: list[AuditRecord]) -> list[int]:
        return [record.id for record in records]

    assert ids(await store.query()) == [newest.id, middle.id, oldest.id]
    assert ids(await store.query(task_id=TASK)) == [newest.id, oldest.id]
    assert ids(await store.query(slack_user="U0BOB")) == [oldest.id]
    assert ids(await store.query(channel="C0DEV")) == [middle.id]
    assert ids(await store.query(since=cut)) == [newest.id]
    assert ids(await store.query(limit=2)) == [newest.id, middle.id]
    assert ids(await store.query(task_id=TASK, slack_user="U0ALICE")) == [newest.id]


async def test_query_refuses_a_naive_since(store: AuditStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.query(since=datetime(2025, 1, 1))


async def test_ping_answers_when_the_database_is_up(store: AuditStore) -> None:
    await store.ping()
