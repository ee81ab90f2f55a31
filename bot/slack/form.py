"""Reading the submitted modal: the task ID and tickets, or an inline error per field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot import messages
from bot.coc.tasks import InvalidTaskId, Ticket, TicketType, is_ticket_field, parse_task_id
from bot.slack import blocks

Values = Mapping[str, Mapping[str, Mapping[str, Any]]]


@dataclass
class EnableForm:
    """What the user entered; ``errors`` maps a block_id to the message shown under it."""

    task_id: str | None
    tickets: list[Ticket] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    raw_tickets: list[dict[str, str | None]] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


def _value(values: Values, block_id: str, action_id: str) -> str | None:
    block = values.get(block_id)
    element = block.get(action_id) if isinstance(block, Mapping) else None
    if not isinstance(element, Mapping):
        return None
    if "selected_option" in element:
        option = element.get("selected_option")
        value = option.get("value") if isinstance(option, Mapping) else None
    else:
        value = element.get("value")
    if not isinstance(value, str):
        return None
    return value.strip() or None


def ticket_values(values: Values, rows: int) -> list[dict[str, str | None]]:
    """The raw entries of each ticket row, for re-drawing the modal with one more row."""
    return [
        {name: _value(values, blocks.ticket_block_id(name, row), name) for name in blocks.TICKET_FIELDS}
        for row in range(rows)
    ]


def read_form(values: Values, rows: int) -> EnableForm:
    """Validate the modal's state. Nothing invalid may reach COC, so every field is checked."""
    form = EnableForm(task_id=None, raw_tickets=ticket_values(values, rows))

    raw_task = _value(values, blocks.TASK_BLOCK, blocks.TASK_INPUT)
    if raw_task is None:
        form.errors[blocks.TASK_BLOCK] = messages.TASK_ID_REQUIRED
    else:
        try:
            form.task_id = parse_task_id(raw_task)
        except InvalidTaskId as exc:
            form.errors[blocks.TASK_BLOCK] = messages.invalid_task_id(exc.problem)

    seen: set[tuple[str, str]] = set()
    for row, entry in enumerate(form.raw_tickets):
        ticket = _read_ticket(row, entry, form.errors)
        if ticket is None:
            continue
        key = (ticket.ticket_type.value, ticket.ticket_id)
        if key in seen:
            form.errors[blocks.ticket_block_id(blocks.TICKET_ID_INPUT, row)] = messages.DUPLICATE_TICKET
            continue
        seen.add(key)
        form.tickets.append(ticket)
    return form


def _read_ticket(row: int, entry: Mapping[str, str | None], errors: dict[str, str]) -> Ticket | None:
    if not any(entry.values()):
        return None
    ticket_type, ticket_id = entry[blocks.TICKET_TYPE_INPUT], entry[blocks.TICKET_ID_INPUT]
    problems = len(errors)
    if ticket_type not in TicketType.__members__:
        errors[blocks.ticket_block_id(blocks.TICKET_TYPE_INPUT, row)] = messages.TICKET_TYPE_REQUIRED
    if ticket_id is None:
        errors[blocks.ticket_block_id(blocks.TICKET_ID_INPUT, row)] = messages.TICKET_ID_REQUIRED
    for name in (blocks.TICKET_ID_INPUT, blocks.TARGET_ID_INPUT, blocks.SCOPE_ID_INPUT):
        value = entry[name]
        if value is not None and not is_ticket_field(value):
            errors[blocks.ticket_block_id(name, row)] = messages.TICKET_FIELD_INVALID
    if len(errors) > problems or ticket_type is None or ticket_id is None:
        return None
    return Ticket(
        ticket_type=TicketType(ticket_type),
        ticket_id=ticket_id,
        target_id=entry[blocks.TARGET_ID_INPUT],
        scope_id=entry[blocks.SCOPE_ID_INPUT],
    )
