"""Block Kit builders: the enable modal and the outcome messages.

Nothing here talks to Slack; the handlers in ``commands`` and ``views`` send what these build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.coc.tasks import TicketType
from bot.messages import MAX_TICKETS
from bot.slack.escape import escape

Block = dict[str, Any]

ENABLE_MODAL = "enable_schedule"
"""callback_id of the enable modal."""

ADD_TICKET = "add_ticket"
"""action_id of the modal's "Add ticket" button."""

TASK_BLOCK = "task"
TASK_INPUT = "task_id"
TICKET_TYPE_INPUT = "ticket_type"
TICKET_ID_INPUT = "ticket_id"
TARGET_ID_INPUT = "target_id"
SCOPE_ID_INPUT = "scope_id"
TICKET_FIELDS = (TICKET_TYPE_INPUT, TICKET_ID_INPUT, TARGET_ID_INPUT, SCOPE_ID_INPUT)
TICKET_ACTIONS_BLOCK = "ticket_actions"

_TITLE = "Enable scheduled task"
_LABELS = {
    TICKET_TYPE_INPUT: "Ticket type",
    TICKET_ID_INPUT: "Ticket ID",
    TARGET_ID_INPUT: "Application ID",
    SCOPE_ID_INPUT: "Region ID",
}
_HINTS = {
    TARGET_ID_INPUT: "The ticket's application ID (COC's target_id).",
    SCOPE_ID_INPUT: "The ticket's region ID (COC's scope_id).",
}


def ticket_block_id(field: str, row: int) -> str:
    return f"{field}_{row}"


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(ticket_type: TicketType) -> dict[str, Any]:
    return {"text": _plain(ticket_type.value), "value": ticket_type.value}


def _text_input(
    block_id: str,
    action_id: str,
    label: str,
    *,
    initial: str | None,
    optional: bool,
    placeholder: str | None = None,
    hint: str | None = None,
    max_length: int = 64,
) -> Block:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": action_id, "max_length": max_length}
    if initial:
        element["initial_value"] = initial
    if placeholder:
        element["placeholder"] = _plain(placeholder)
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": _plain(label),
        "element": element,
    }
    if hint:
        block["hint"] = _plain(hint)
    return block


def _ticket_blocks(row: int, values: Mapping[str, str | None]) -> list[Block]:
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": TICKET_TYPE_INPUT,
        "placeholder": _plain("Choose a type"),
        "options": [_option(t) for t in TicketType],
    }
    chosen = values.get(TICKET_TYPE_INPUT)
    if chosen is not None and chosen in TicketType.__members__:
        select["initial_option"] = _option(TicketType(chosen))
    blocks: list[Block] = [
        {
            "type": "section",
            "block_id": f"ticket_heading_{row}",
            "text": {"type": "mrkdwn", "text": f"*Ticket {row + 1}*"},
        },
        {
            "type": "input",
            "block_id": ticket_block_id(TICKET_TYPE_INPUT, row),
            "optional": True,
            "label": _plain(_LABELS[TICKET_TYPE_INPUT]),
            "element": select,
        },
    ]
    for field in (TICKET_ID_INPUT, TARGET_ID_INPUT, SCOPE_ID_INPUT):
        blocks.append(
            _text_input(
                ticket_block_id(field, row),
                field,
                _LABELS[field],
                initial=values.get(field),
                optional=True,
                hint=_HINTS.get(field),
            )
        )
    return blocks


def enable_modal(
    *,
    identity: str,
    metadata: str,
    task_id: str | None,
    ticket_rows: int,
    require_ticket: bool,
    tickets: Sequence[Mapping[str, str | None]] | None = None,
) -> dict[str, Any]:
    """The modal asking for the task and its tickets, with ``ticket_rows`` ticket sections."""
    tickets = tickets or []
    ticket_rule = (
        "At least one complete ticket is required for this identity."
        if require_ticket
        else "Tickets are optional unless change control requires them."
    )
    blocks: list[Block] = [
        {
            "type": "context",
            "block_id": "acting_as",
            "elements": [
                {"type": "mrkdwn", "text": f"Acting as identity *{escape(identity)}*. {ticket_rule}"},
            ],
        },
        _text_input(
            TASK_BLOCK,
            TASK_INPUT,
            "Task ID",
            initial=task_id,
            optional=False,
            placeholder="ST followed by 24 letters or digits",
            max_length=64,
        ),
    ]
    for row in range(ticket_rows):
        blocks.extend(_ticket_blocks(row, tickets[row] if row < len(tickets) else {}))
    limit_text = f"Up to {MAX_TICKETS} tickets; a ticket needs at least its type and ID."
    if ticket_rows < MAX_TICKETS:
        blocks.append(
            {
                "type": "actions",
                "block_id": TICKET_ACTIONS_BLOCK,
                "elements": [
                    {
                        "type": "button",
                        "action_id": ADD_TICKET,
                        "text": _plain("Add ticket"),
                        "value": str(ticket_rows),
                    },
                ],
            }
        )
    blocks.append({"type": "context", "block_id": "ticket_limit", "elements": [{"type": "mrkdwn", "text": limit_text}]})
    return {
        "type": "modal",
        "callback_id": ENABLE_MODAL,
        "title": _plain(_TITLE),
        "submit": _plain("Enable"),
        "close": _plain("Cancel"),
        "private_metadata": metadata,
        "blocks": blocks,
    }


SECTION_TEXT_LIMIT = 3000


def message(text: str) -> dict[str, Any]:
    """A message as ``chat.postMessage`` keyword arguments: the text doubles as the notification.

    A section holds at most 3,000 characters and Slack refuses the whole message past that,
    so an outcome swollen by a long COC or IAM text is cut rather than lost.
    """
    if len(text) > SECTION_TEXT_LIMIT:
        text = _cut(text, SECTION_TEXT_LIMIT - 1) + "…"
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def _cut(text: str, length: int) -> str:
    """``text`` cut to ``length``, never inside an ``&amp;``-style entity."""
    cut = text[:length]
    tail = cut.rfind("&")
    if tail != -1 and ";" not in cut[tail:]:
        cut = cut[:tail]
    return cut
