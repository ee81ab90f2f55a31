"""Drive the bot over HTTP exactly as Slack does: signed slash commands and interactions.

Triggers and response URLs come from the :class:`~tests.peers.slack.SlackPeer`, so the
bot's follow-up calls (``views.open``, posts to the response URL) land on the peer and can
be checked there.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx

from tests.peers.slack import SlackPeer

DEFAULT_USER_ID = "U012ABCDEF"
DEFAULT_CHANNEL_ID = "C0CHANNEL1"
DEFAULT_TEAM_ID = "T0TEAM001"
VERIFICATION_TOKEN = "legacy-verification-token"
"""Slack's deprecated ``token`` field, still sent with every request."""
_FORM = "application/x-www-form-urlencoded"

_VALUE_KEY = {
    "plain_text_input": "value",
    "number_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
}
_INITIAL_KEY = {
    "value": "initial_value",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "selected_user": "initial_user",
    "selected_conversation": "initial_conversation",
    "selected_channel": "initial_channel",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
}
_UNSET: Any = object()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's request-signing headers for ``body``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


def _options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "option_groups" in element:
        return [option for group in element["option_groups"] for option in group["options"]]
    return list(element.get("options", []))


def _chosen_option(element: Mapping[str, Any], value: str) -> dict[str, Any]:
    if element["type"].endswith("external_select"):
        return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}
    for option in _options(element):
        if option["value"] == value:
            return copy.deepcopy(option)
    offered = [option["value"] for option in _options(element)]
    raise ValueError(f"{element.get('action_id')!r} offers no option {value!r}; it offers {offered}")


def _state_entry(element: Mapping[str, Any], value: Any) -> dict[str, Any]:
    kind = element["type"]
    key = _VALUE_KEY.get(kind)
    if key is None:
        raise ValueError(f"values_for cannot fill a {kind!r} element; build its state by hand")
    if value is _UNSET:
        initial = element.get(_INITIAL_KEY[key])
        if key == "value" and isinstance(initial, str):
            initial = initial or None
        if key == "selected_options" and initial is None:
            initial = []
        return {"type": kind, key: copy.deepcopy(initial)}

    if key == "value":
        # Slack never sends an empty string: a cleared input arrives as null.
        chosen: Any = None if value in (None, "") else str(value)
    elif key == "selected_option":
        chosen = None if value is None else _chosen_option(element, value)
    elif key == "selected_options":
        chosen = [_chosen_option(element, item) for item in value or []]
    else:
        chosen = value
    return {"type": kind, key: chosen}


def values_for(
    view: Mapping[str, Any],
    by_block: Mapping[str, Any] | None = None,
    /,
    **by_action_id: Any,
) -> dict[str, dict[str, dict[str, Any]]]:
    """``view.state.values`` as Slack would send it for the modal's input blocks.

    Address an input by its block id in ``by_block`` or by its element's action id as a
    keyword. An action id repeated across rows (``ticket_id`` in blocks ``ticket_0``,
    ``ticket_1``…) takes a list: the n-th such block gets the n-th item (a multi-select's
    list is its selection, so address repeated multi-selects by block id). An input not
    addressed keeps its initial value, or is empty (``None``) as Slack sends it.
    """
    by_block = dict(by_block or {})
    unused_blocks = set(by_block)
    unused_actions = set(by_action_id)
    seen_per_action: dict[str, int] = {}
    values: dict[str, dict[str, dict[str, Any]]] = {}

    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        block_id, element = block["block_id"], block["element"]
        action_id = element["action_id"]
        index = seen_per_action.get(action_id, 0)
        seen_per_action[action_id] = index + 1

        value = _UNSET
        if action_id in by_action_id:
            unused_actions.discard(action_id)
            given = by_action_id[action_id]
            is_selection = _VALUE_KEY.get(element["type"]) == "selected_options"
            if isinstance(given, Sequence) and not isinstance(given, str) and not is_selection:
                value = given[index] if index < len(given) else _UNSET
            else:
                value = given
        if block_id in by_block:
            unused_blocks.discard(block_id)
            value = by_block[block_id]
        values[block_id] = {action_id: _state_entry(element, value)}

    if unused_blocks or unused_actions:
        raise ValueError(
            f"No input block or action id matches {sorted(unused_blocks | unused_actions)}; "
            f"the view's inputs are {[(b, next(iter(v))) for b, v in values.items()]}"
        )
    return values


def _find_element(view: Mapping[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    for block in view["blocks"]:
        if block.get("block_id") != block_id:
            continue
        candidates = [*block.get("elements", []), block.get("accessory"), block.get("element")]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return dict(element)
    raise ValueError(f"The view has no element {action_id!r} in block {block_id!r}")


class SlackDriver:
    """Sends the bot what Slack sends, signed with ``signing_secret``."""

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        peer: SlackPeer,
        *,
        path: str = "/slack/events",
    ) -> None:
        self.url = base_url.rstrip("/") + path
        self.signing_secret = signing_secret
        self.peer = peer
        self.client = httpx.Client(timeout=10)
        self.last_trigger_id: str | None = None
        self.last_response_url: str | None = None

    def __enter__(self) -> SlackDriver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    # Signing and raw sending, for hostile tests

    def sign(self, body: bytes, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]:
        return sign(body, self.signing_secret if secret is None else secret, timestamp)

    def send_raw(self, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        """POST ``body`` with exactly ``headers`` (plus what HTTP itself needs)."""
        return self.client.post(self.url, content=body, headers=dict(headers))

    def _send_form(self, fields: Mapping[str, str]) -> httpx.Response:
        body = urlencode(fields).encode()
        headers = {
            "Content-Type": _FORM,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **self.sign(body),
        }
        return self.send_raw(body, headers)

    def _user(self, user_id: str, team_id: str) -> dict[str, str]:
        name = str(self.peer.users.get(user_id, {}).get("name", "operator"))
        return {"id": user_id, "username": name, "name": name, "team_id": team_id}

    def _team(self, team_id: str) -> dict[str, str]:
        return {"id": team_id, "domain": self.peer.team_domain}

    # What a user does

    def slash_command(
        self,
        text: str = "",
        *,
        user_id: str = DEFAULT_USER_ID,
        channel_id: str = DEFAULT_CHANNEL_ID,
        team_id: str = DEFAULT_TEAM_ID,
        user_name: str | None = None,
        channel_name: str = "ops",
        command: str = "/enable-schedule",
    ) -> httpx.Response:
        self.last_trigger_id = self.peer.issue_trigger()
        self.last_response_url = self.peer.response_url()
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": self.peer.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or self._user(user_id, team_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.peer.app_id,
            "is_enterprise_install": "false",
            "response_url": self.last_response_url,
            "trigger_id": self.last_trigger_id,
        }
        return self._send_form(fields)

    def open_modal(self, text: str = "", *, timeout: float = 10, **slash_options: Any) -> dict[str, Any]:
        """Run the slash command and return the view the bot opened with its trigger."""
        answer = self.slash_command(text, **slash_options)
        if answer.status_code != 200:
            raise AssertionError(f"The slash command got HTTP {answer.status_code}: {answer.text}")
        trigger_id = self.last_trigger_id
        call = self.peer.wait_for(
            "views.open", timeout=timeout, where=lambda c: c.params.get("trigger_id") == trigger_id
        )[0]
        if not call.response.get("ok"):
            raise AssertionError(f"views.open was refused: {call.response}")
        return dict(call.response["view"])

    def submit_view(
        self,
        view: Mapping[str, Any],
        values: Mapping[str, Any],
        *,
        user_id: str = DEFAULT_USER_ID,
        team_id: str = DEFAULT_TEAM_ID,
    ) -> httpx.Response:
        """Press the modal's submit button with ``values`` as its ``state.values``."""
        self.last_trigger_id = self.peer.issue_trigger(view_id=view.get("id"))
        payload = {
            "type": "view_submission",
            "team": self._team(team_id),
            "user": self._user(user_id, team_id),
            "api_app_id": self.peer.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.last_trigger_id,
            "view": self._view_payload(view, values, team_id),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._send_form({"payload": json.dumps(payload)})

    def click(
        self,
        view: Mapping[str, Any],
        action_id: str,
        block_id: str,
        value: str | None = None,
        *,
        values: Mapping[str, Any] | None = None,
        user_id: str = DEFAULT_USER_ID,
        team_id: str = DEFAULT_TEAM_ID,
    ) -> httpx.Response:
        """Press a button in the modal; ``values`` is the modal's state at that moment."""
        element = _find_element(view, block_id, action_id)
        action: dict[str, Any] = {
            "type": element.get("type", "button"),
            "action_id": action_id,
            "block_id": block_id,
            "action_ts": f"{time.time():.6f}",
        }
        if "text" in element:
            action["text"] = element["text"]
        chosen = value if value is not None else element.get("value")
        if chosen is not None:
            action["value"] = chosen

        self.last_trigger_id = self.peer.issue_trigger(view_id=view.get("id"))
        state = values if values is not None else view.get("state", {}).get("values", {})
        payload = {
            "type": "block_actions",
            "user": self._user(user_id, team_id),
            "api_app_id": self.peer.app_id,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "view", "view_id": view.get("id")},
            "trigger_id": self.last_trigger_id,
            "team": self._team(team_id),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": self._view_payload(view, state, team_id),
            "actions": [action],
        }
        return self._send_form({"payload": json.dumps(payload)})

    def _view_payload(self, view: Mapping[str, Any], values: Mapping[str, Any], team_id: str) -> dict[str, Any]:
        view_id = view.get("id")
        return {
            "id": view_id,
            "team_id": view.get("team_id", team_id),
            "type": view.get("type", "modal"),
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": copy.deepcopy(dict(values))},
            "hash": view.get("hash"),
            "title": view.get("title"),
            "clear_on_close": view.get("clear_on_close", False),
            "notify_on_close": view.get("notify_on_close", False),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": view.get("previous_view_id"),
            "root_view_id": view.get("root_view_id", view_id),
            "app_id": view.get("app_id", self.peer.app_id),
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": view.get("app_installed_team_id", team_id),
            "bot_id": view.get("bot_id", self.peer.bot_id),
        }
