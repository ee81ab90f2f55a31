"""What travels with the modal in ``private_metadata``: where the command came from."""

from __future__ import annotations

import json
from dataclasses import dataclass

MAX_PRIVATE_METADATA = 3000


class BadMetadata(ValueError):
    """The modal's ``private_metadata`` is not what this bot put there."""


@dataclass(frozen=True)
class ModalOrigin:
    channel_id: str
    response_url: str | None
    ticket_rows: int

    def encode(self) -> str:
        text = json.dumps({"c": self.channel_id, "r": self.response_url, "n": self.ticket_rows}, separators=(",", ":"))
        if len(text) > MAX_PRIVATE_METADATA:
            # A response_url is about 100 characters; one this long is not Slack's, so drop it.
            text = json.dumps({"c": self.channel_id, "r": None, "n": self.ticket_rows}, separators=(",", ":"))
        return text

    @classmethod
    def decode(cls, text: str | None) -> ModalOrigin:
        try:
            data = json.loads(text or "")
            channel, response_url, rows = data["c"], data["r"], data["n"]
        except (ValueError, KeyError, TypeError) as exc:
            raise BadMetadata("private_metadata is not this bot's") from exc
        if not isinstance(channel, str) or not channel:
            raise BadMetadata("private_metadata has no channel")
        if response_url is not None and not isinstance(response_url, str):
            raise BadMetadata("private_metadata has a malformed response_url")
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
            raise BadMetadata("private_metadata has a malformed ticket count")
        return cls(channel, response_url, rows)
