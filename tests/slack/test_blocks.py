import json

from bot import messages
from bot.coc.tasks import TicketType
from bot.slack import blocks
from bot.slack.metadata import ModalOrigin


def modal(rows=1, **kwargs):
    return blocks.enable_modal(
        identity="ops-prod",
        metadata=ModalOrigin("C1", "https://r", rows).encode(),
        task_id=kwargs.pop("task_id", None),
        ticket_rows=rows,
        require_ticket=kwargs.pop("require_ticket", False),
        **kwargs,
    )


def labels(view):
    return [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]


def test_modal_fits_slack_limits():
    view = modal(rows=messages.MAX_TICKETS)
    assert len(view["title"]["text"]) <= 24
    assert len(view["blocks"]) <= 100
    ids = [b["block_id"] for b in view["blocks"]]
    assert len(ids) == len(set(ids))
    assert len(json.dumps(view)) < 250_000


def test_modal_uses_the_api_field_names_as_labels():
    assert labels(modal()) == ["Task ID", "Ticket type", "Ticket ID", "Application ID", "Region ID"]


def test_ticket_type_select_offers_the_three_api_types():
    select = next(b for b in modal()["blocks"] if b["block_id"] == "ticket_type_0")["element"]
    assert [o["value"] for o in select["options"]] == [t.value for t in TicketType]


def test_task_id_from_the_command_is_prefilled():
    task = next(b for b in modal(task_id="ST" + "x" * 24)["blocks"] if b["block_id"] == blocks.TASK_BLOCK)
    assert task["element"]["initial_value"] == "ST" + "x" * 24


def test_add_ticket_button_disappears_at_the_stated_limit():
    def has_button(view):
        return any(b["type"] == "actions" for b in view["blocks"])

    assert has_button(modal(rows=messages.MAX_TICKETS - 1))
    assert not has_button(modal(rows=messages.MAX_TICKETS))
    limit_text = json.dumps(modal(rows=messages.MAX_TICKETS))
    assert f"Up to {messages.MAX_TICKETS} tickets" in limit_text


def test_redrawn_modal_keeps_entered_tickets():
    view = modal(rows=2, tickets=[{"ticket_type": "CHANGE", "ticket_id": "CH-1", "target_id": None, "scope_id": "r1"}])
    by_id = {b["block_id"]: b for b in view["blocks"]}
    assert by_id["ticket_type_0"]["element"]["initial_option"]["value"] == "CHANGE"
    assert by_id["ticket_id_0"]["element"]["initial_value"] == "CH-1"
    assert by_id["scope_id_0"]["element"]["initial_value"] == "r1"
    assert "initial_value" not in by_id["ticket_id_1"]["element"]


def test_identity_name_in_the_modal_is_escaped():
    view = blocks.enable_modal(identity="<!here>", metadata="{}", task_id=None, ticket_rows=1, require_ticket=True)
    context = json.dumps(view["blocks"][0])
    assert "<!here>" not in context and "&lt;!here&gt;" in context
    assert "At least one complete ticket is required" in context


def test_an_overlong_message_is_cut_to_slacks_section_limit_without_breaking_an_entity():
    text = "x" * 2998 + "&amp;" + "y" * 50
    built = blocks.message(text)
    section = built["blocks"][0]["text"]["text"]
    assert len(section) <= blocks.SECTION_TEXT_LIMIT
    assert section.endswith("x…") and "&am" not in section
    assert blocks.message("short")["text"] == "short"
