from bot import messages
from bot.coc.tasks import Ticket, TicketType
from bot.slack import blocks
from bot.slack.form import read_form

TASK = "ST" + "a1B2" * 6


def text(value):
    return {"type": "plain_text_input", "value": value}


def select(value):
    option = None if value is None else {"text": {"type": "plain_text", "text": value}, "value": value}
    return {"type": "static_select", "selected_option": option}


def state(task=TASK, tickets=()):
    values = {blocks.TASK_BLOCK: {blocks.TASK_INPUT: text(task)}}
    for row, (kind, ticket_id, target, scope) in enumerate(tickets):
        values[f"ticket_type_{row}"] = {"ticket_type": select(kind)}
        values[f"ticket_id_{row}"] = {"ticket_id": text(ticket_id)}
        values[f"target_id_{row}"] = {"target_id": text(target)}
        values[f"scope_id_{row}"] = {"scope_id": text(scope)}
    return values


def test_valid_task_with_two_tickets_reads_as_entered():
    form = read_form(state(tickets=[("CHANGE", "CH-1", "app-9", "cn-north-4"), ("INCIDENT", "IN-2", None, None)]), 2)
    assert form.valid
    assert form.task_id == TASK
    assert form.tickets == [
        Ticket(TicketType.CHANGE, "CH-1", "app-9", "cn-north-4"),
        Ticket(TicketType.INCIDENT, "IN-2", None, None),
    ]


def test_empty_ticket_rows_are_skipped_as_slack_sends_them():
    form = read_form(state(tickets=[(None, None, None, None)]), 1)
    assert form.valid and form.tickets == []


def test_missing_task_id_is_refused_inline():
    form = read_form(state(task=None), 1)
    assert form.errors == {blocks.TASK_BLOCK: messages.TASK_ID_REQUIRED}


def test_wrong_task_ids_name_the_problem():
    cases = {
        "XX" + "a" * 24: "start with ST",
        "ST123": "exactly 26",
        "ST" + "a" * 23 + "/": "letters",
        "ST" + "а" * 24: "letters",  # Cyrillic look-alikes
    }
    for task, words in cases.items():
        form = read_form(state(task=task), 1)
        assert words in form.errors[blocks.TASK_BLOCK], task
        assert form.task_id is None


def test_partly_filled_ticket_needs_type_and_id():
    form = read_form(state(tickets=[(None, None, "app-9", None)]), 1)
    assert form.errors == {
        "ticket_type_0": messages.TICKET_TYPE_REQUIRED,
        "ticket_id_0": messages.TICKET_ID_REQUIRED,
    }
    assert form.tickets == []


def test_ticket_fields_with_markup_are_refused():
    form = read_form(state(tickets=[("CHANGE", "<!channel>", None, None)]), 1)
    assert form.errors == {"ticket_id_0": messages.TICKET_FIELD_INVALID}


def test_the_same_ticket_twice_is_refused():
    form = read_form(state(tickets=[("CHANGE", "CH-1", None, None), ("CHANGE", "CH-1", None, None)]), 2)
    assert form.errors == {"ticket_id_1": messages.DUPLICATE_TICKET}


def test_unknown_ticket_type_is_refused():
    form = read_form(state(tickets=[("PROBLEM", "P-1", None, None)]), 1)
    assert form.errors == {"ticket_type_0": messages.TICKET_TYPE_REQUIRED}


def test_malformed_state_shapes_do_not_raise():
    form = read_form({blocks.TASK_BLOCK: {blocks.TASK_INPUT: "not a dict"}, "ticket_id_0": []}, 1)  # type: ignore[dict-item]
    assert blocks.TASK_BLOCK in form.errors
