"""What a record holds and how it reads back, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from bot.audit.records import AuditRecord, Outcome, tickets_from_json, tickets_to_json
from bot.coc.tasks import Ticket, TicketType

_FIELD = st.text(alphabet="ABCXYZabc0123456789._:-", min_size=1, max_size=64)
_TICKETS = st.lists(
    st.builds(
        Ticket,
        ticket_type=st.sampled_from(TicketType),
        ticket_id=_FIELD,
        target_id=st.none() | _FIELD,
        scope_id=st.none() | _FIELD,
    ),
    max_size=5,
).map(tuple)


def _record(**changes: object) -> AuditRecord:
    values: dict[str, object] = {
        "id": 1,
        "created_at": datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
        "finished_at": None,
        "slack_team": "T",
        "slack_user": "U",
        "channel": "C",
        "identity": "ops",
        "task_id": "ST" + "a" * 24,
        "tickets": (),
        "outcome": Outcome.PENDING,
        "error_code": None,
        "error_msg": None,
        "request_id": None,
        "note": None,
        "submission_key": "V1",
        "lease_until": datetime(2025, 3, 1, 9, 5, tzinfo=UTC),
        **changes,
    }
    return AuditRecord(**values)  # type: ignore[arg-type]


@given(tickets=_TICKETS)
def test_tickets_read_back_as_they_were_stored(tickets: tuple[Ticket, ...]) -> None:
    assert tickets_from_json(tickets_to_json(tickets)) == tickets


def test_the_json_time_is_utc_whatever_zone_the_record_carries() -> None:
    beijing = timezone(timedelta(hours=8))
    record = _record(created_at=datetime(2025, 3, 1, 17, 0, tzinfo=beijing))

    assert record.to_json()["at"] == "2025-03-01T09:00:00+00:00"


def test_a_pending_record_is_abandoned_only_once_its_lease_has_passed() -> None:
    record = _record()
    assert record.lease_until is not None

    assert not record.lease_passed(record.lease_until - timedelta(seconds=1))
    assert record.lease_passed(record.lease_until)
    assert not _record(outcome=Outcome.ENABLED).lease_passed(record.lease_until + timedelta(days=1))


def test_outcomes_are_the_lower_case_words_the_table_stores() -> None:
    assert [outcome.value for outcome in Outcome] == ["pending", "enabled", "failed", "refused", "unknown"]
