"""Signed requests in Slack's exact shapes, built before a run so that signing costs it nothing.

The bot refuses a signature it has seen in the last five minutes, so each request has a body
of its own (a fresh trigger, view ID or task ID) and its own signature. All are signed with
one timestamp, which stays inside Slack's five-minute window for the length of a run.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.integration.stack import CHANNEL, OPERATOR, SIGNING_SECRET
from tests.slack_driver import DEFAULT_TEAM_ID, VERIFICATION_TOKEN, sign, values_for

FORM = "application/x-www-form-urlencoded"
TEAM_DOMAIN = "example-ops"
APP_ID = "A0APPID001"
BOT_ID = "B0BOTID001"
TICKET = {"ticket_type_0": "CHANGE", "ticket_id_0": "CH-2031"}


@dataclass(frozen=True)
class SignedRequest:
    body: str
    headers: dict[str, str]

    def to_json(self) -> list[Any]:
        return [self.body, self.headers]


def _signed(body: str, timestamp: int) -> SignedRequest:
    headers = {"Content-Type": FORM, **sign(body.encode(), SIGNING_SECRET, timestamp)}
    return SignedRequest(body, headers)


def slash_command(trigger_id: str, response_url: str, timestamp: int, text: str = "") -> SignedRequest:
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": DEFAULT_TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": CHANNEL,
        "channel_name": "ops",
        "user_id": OPERATOR,
        "user_name": "operator",
        "command": "/enable-schedule",
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }
    return _signed(urlencode(fields), timestamp)


def new_task_id(prefix: str) -> str:
    """A valid COC task ID (``ST`` and 24 letters or digits) unique to this run."""
    tail = secrets.token_hex(12)
    return ("ST" + prefix + tail)[:26]


def view_submission(view: Mapping[str, Any], task_id: str, timestamp: int) -> SignedRequest:
    """The modal ``view`` (as Slack stored it) submitted with ``task_id`` and one ticket."""
    view_id = "V" + secrets.token_hex(5).upper()
    values = values_for(view, {"task": task_id, **TICKET})
    user = {"id": OPERATOR, "username": "operator", "name": "operator", "team_id": DEFAULT_TEAM_ID}
    payload = {
        "type": "view_submission",
        "team": {"id": DEFAULT_TEAM_ID, "domain": TEAM_DOMAIN},
        "user": user,
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}",
        "view": {
            "id": view_id,
            "team_id": DEFAULT_TEAM_ID,
            "type": "modal",
            "blocks": copy.deepcopy(view["blocks"]),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": values},
            "hash": view.get("hash"),
            "title": view.get("title"),
            "clear_on_close": False,
            "notify_on_close": False,
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": APP_ID,
            "external_id": "",
            "app_installed_team_id": DEFAULT_TEAM_ID,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _signed(urlencode({"payload": json.dumps(payload)}), timestamp)
