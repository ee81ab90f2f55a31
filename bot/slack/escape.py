"""Escaping for Slack mrkdwn.

Slack parses ``<…>`` as mentions, channel pings and links. Any text that came from a user or
from COC is escaped before it is put in a message, so ``<!channel>`` or ``<https://evil|ok>``
shows as the characters typed.
"""

from __future__ import annotations

_REPLACEMENTS = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


def escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` as Slack asks (``&`` first, so nothing is escaped twice)."""
    for raw, entity in _REPLACEMENTS:
        text = text.replace(raw, entity)
    return text


def code(text: str) -> str:
    """``text`` escaped inside inline code; backticks are dropped so they cannot end it early."""
    return "`" + escape(text.replace("`", "'")) + "`"
