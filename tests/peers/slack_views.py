"""Modal views checked and completed the way Slack's ``views.*`` methods do.

:func:`view_problems` returns the ``response_metadata.messages`` Slack would give with
``invalid_arguments`` (same ``[ERROR] … [json-pointer:…]`` shape, limits from the Block Kit
reference). :func:`complete_view` adds what Slack adds to a view it stores: generated
``block_id`` and ``action_id`` values, ``emoji`` on plain text, and the view's metadata.
"""

from __future__ import annotations

import copy
import json
import secrets
import string
from typing import Any

MAX_VIEW_BYTES = 250_000
_BLOCK_TYPES = {"actions", "context", "divider", "header", "image", "input", "section", "rich_text"}
_INPUT_ELEMENTS = {
    "checkboxes",
    "channels_select",
    "conversations_select",
    "datepicker",
    "datetimepicker",
    "email_text_input",
    "external_select",
    "multi_channels_select",
    "multi_conversations_select",
    "multi_external_select",
    "multi_static_select",
    "multi_users_select",
    "number_input",
    "plain_text_input",
    "radio_buttons",
    "rich_text_input",
    "static_select",
    "timepicker",
    "url_text_input",
    "users_select",
}
_ID_ALPHABET = string.ascii_letters + string.digits


def _error(problem: str, pointer: str) -> str:
    return f"[ERROR] {problem} [json-pointer:{pointer}]"


def _text_problems(value: Any, pointer: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(value, dict):
        return [_error("must provide an object", pointer)]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if value.get("type") not in allowed:
        return [_error(f"must be one of: {', '.join(allowed)}", f"{pointer}/type")]
    text = value.get("text")
    if not isinstance(text, str) or not text:
        return [_error("must be more than 0 characters", f"{pointer}/text")]
    if len(text) > limit:
        # Slack's own wording, which says "less than" for what is really "at most".
        return [
            _error("failed to match all allowed schemas", pointer),
            _error(f"must be less than {limit} characters", f"{pointer}/text"),
        ]
    return []


def _length_problem(value: Any, pointer: str, limit: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [_error("must be a string", pointer)]
    if len(value) > limit:
        return [_error(f"must be less than {limit} characters", pointer)]
    return []


def _option_problems(options: Any, pointer: str) -> list[str]:
    if not isinstance(options, list) or not options:
        return [_error("must provide at least 1 item", pointer)]
    if len(options) > 100:
        return [_error("must provide at most 100 items", pointer)]
    problems: list[str] = []
    for index, option in enumerate(options):
        where = f"{pointer}/{index}"
        if not isinstance(option, dict):
            problems.append(_error("must provide an object", where))
            continue
        problems += _text_problems(option.get("text"), f"{where}/text", 75)
        value = option.get("value")
        if not isinstance(value, str) or not value:
            problems.append(_error("must be more than 0 characters", f"{where}/value"))
        else:
            problems += _length_problem(value, f"{where}/value", 150)
    return problems


def _element_problems(element: Any, pointer: str, *, input_element: bool) -> list[str]:
    if not isinstance(element, dict):
        return [_error("missing required field: element", pointer)]
    kind = element.get("type")
    if input_element and kind not in _INPUT_ELEMENTS:
        return [_error("failed to match all allowed schemas", f"{pointer}/type")]
    problems = _length_problem(element.get("action_id"), f"{pointer}/action_id", 255)
    if "placeholder" in element:
        problems += _text_problems(element["placeholder"], f"{pointer}/placeholder", 150, plain_only=True)
    if kind in {"static_select", "multi_static_select", "checkboxes", "radio_buttons"}:
        if "option_groups" in element:
            for index, group in enumerate(element["option_groups"]):
                problems += _option_problems(group.get("options"), f"{pointer}/option_groups/{index}/options")
        else:
            problems += _option_problems(element.get("options"), f"{pointer}/options")
    if kind == "plain_text_input":
        problems += _length_problem(element.get("initial_value"), f"{pointer}/initial_value", 3000)
    if kind == "button":
        problems += _text_problems(element.get("text"), f"{pointer}/text", 75, plain_only=True)
        problems += _length_problem(element.get("value"), f"{pointer}/value", 2000)
    return problems


def _block_problems(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict):
        return [_error("must provide an object", pointer)]
    kind = block.get("type")
    if kind not in _BLOCK_TYPES:
        return [_error("failed to match all allowed schemas", f"{pointer}/type")]
    problems = _length_problem(block.get("block_id"), f"{pointer}/block_id", 255)
    if kind == "input":
        if "label" not in block:
            problems.append(_error("missing required field: label", pointer))
        else:
            problems += _text_problems(block["label"], f"{pointer}/label", 2000, plain_only=True)
        if "hint" in block:
            problems += _text_problems(block["hint"], f"{pointer}/hint", 2000, plain_only=True)
        problems += _element_problems(block.get("element"), f"{pointer}/element", input_element=True)
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(_error("must provide either text or fields", pointer))
        if "text" in block:
            problems += _text_problems(block["text"], f"{pointer}/text", 3000)
        for index, field in enumerate(block.get("fields", [])):
            problems += _text_problems(field, f"{pointer}/fields/{index}", 2000)
        if len(block.get("fields", [])) > 10:
            problems.append(_error("must provide at most 10 items", f"{pointer}/fields"))
        if "accessory" in block:
            problems += _element_problems(block["accessory"], f"{pointer}/accessory", input_element=False)
    elif kind == "header":
        problems += _text_problems(block.get("text"), f"{pointer}/text", 150, plain_only=True)
    elif kind in {"actions", "context"}:
        limit = 25 if kind == "actions" else 10
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            problems.append(_error("must provide at least 1 item", f"{pointer}/elements"))
        elif len(elements) > limit:
            problems.append(_error(f"must provide at most {limit} items", f"{pointer}/elements"))
        elif kind == "actions":
            for index, element in enumerate(elements):
                problems += _element_problems(element, f"{pointer}/elements/{index}", input_element=False)
    return problems


def _duplicate_id_problems(blocks: list[Any]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen:
                problems.append(_error("duplicate block_id", f"/view/blocks/{index}/block_id"))
            seen.add(block_id)
        action_ids = [element.get("action_id") for element in _elements(block)]
        named = [action_id for action_id in action_ids if isinstance(action_id, str)]
        if len(named) != len(set(named)):
            problems.append(_error("duplicate action_id", f"/view/blocks/{index}"))
    return problems


def view_problems(view: Any) -> list[str]:
    """What Slack would list under ``response_metadata.messages``; empty when the view is valid."""
    if not isinstance(view, dict):
        return [_error("must provide an object", "/view")]
    problems: list[str] = []
    if view.get("type") != "modal":
        problems.append(_error("must be one of: modal", "/view/type"))
    problems += _text_problems(view.get("title"), "/view/title", 24, plain_only=True)
    for button in ("submit", "close"):
        if button in view:
            problems += _text_problems(view[button], f"/view/{button}", 24, plain_only=True)
    problems += _length_problem(view.get("private_metadata"), "/view/private_metadata", 3000)
    problems += _length_problem(view.get("callback_id"), "/view/callback_id", 255)
    problems += _length_problem(view.get("external_id"), "/view/external_id", 255)

    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        return [*problems, _error("missing required field: blocks", "/view")]
    if len(blocks) > 100:
        problems.append(_error("must provide at most 100 items", "/view/blocks"))
    for index, block in enumerate(blocks):
        problems += _block_problems(block, f"/view/blocks/{index}")
    problems += _duplicate_id_problems(blocks)
    has_inputs = any(isinstance(block, dict) and block.get("type") == "input" for block in blocks)
    if has_inputs and "submit" not in view:
        problems.append(_error("must provide a submit property when using input blocks", "/view"))
    return problems


def too_large(view: Any) -> bool:
    return len(json.dumps(view, ensure_ascii=False).encode()) > MAX_VIEW_BYTES


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    found = [block["element"]] if isinstance(block.get("element"), dict) else []
    if isinstance(block.get("accessory"), dict):
        found.append(block["accessory"])
    if block.get("type") == "actions":
        found += [element for element in block.get("elements", []) if isinstance(element, dict)]
    return found


def _generated_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(5))


def _add_emoji(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "plain_text" and isinstance(node.get("text"), str):
            node.setdefault("emoji", True)
        for value in node.values():
            _add_emoji(value)
    elif isinstance(node, list):
        for item in node:
            _add_emoji(item)


def complete_view(view: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    """A deep copy of a valid ``view`` as Slack stores and returns it, with ``metadata`` merged in."""
    stored = copy.deepcopy(view)
    for block in stored["blocks"]:
        block.setdefault("block_id", _generated_id())
        for element in _elements(block):
            if element.get("type") not in {None, "image"}:
                element.setdefault("action_id", _generated_id())
    _add_emoji(stored)
    stored.setdefault("private_metadata", "")
    stored.setdefault("callback_id", "")
    stored.setdefault("external_id", "")
    stored.setdefault("clear_on_close", False)
    stored.setdefault("notify_on_close", False)
    stored.setdefault("close", None)
    stored.setdefault("submit", None)
    stored["state"] = {"values": {}}
    stored.update(metadata)
    return stored
