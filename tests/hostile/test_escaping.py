"""Escaping as a property: text from users, COC or IAM never becomes a ping, a link or markup.

Slack mrkdwn turns ``<…>`` into mentions, channel pings and links. The only ``<…>`` the
bot's messages may hold are the ones it writes itself (the user mention ``<@U…>``), however
hostile the text that COC, IAM or a user supplied.
"""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from bot import messages
from bot.slack.escape import code, escape

USER = "U012ABCDEF"
TASK = "ST" + "a" * 24
ANGLE = re.compile(r"<[^<>]*>")
hostile = st.one_of(
    st.text(),
    st.sampled_from(["<!channel>", "<!here|here>", "<@U0BOSS>", "<#C0SECRET>", "<https://evil.example|docs>", "&lt;"]),
    st.lists(st.sampled_from(["<", ">", "&", "!", "@", "|", "`", "*", "_", "~", "http://x", "\n"])).map("".join),
)


def only_own_markup(text: str) -> bool:
    """Every ``<…>`` in ``text`` is the mention of the user the bot acts for."""
    return all(match == f"<@{USER}>" for match in ANGLE.findall(text)) and text.count("<") == len(ANGLE.findall(text))


@given(hostile)
@example("&amp;")
def test_escape_is_reversible_and_leaves_no_angle_bracket(text: str):
    escaped = escape(text)

    assert "<" not in escaped and ">" not in escaped
    assert escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


@given(hostile)
def test_code_span_holds_the_text_and_cannot_be_closed_from_inside(text: str):
    rendered = code(text)

    assert rendered.count("`") == 2 and rendered[0] == rendered[-1] == "`"
    assert rendered[1:-1] == escape(text.replace("`", "'"))


@given(hostile, hostile)
def test_coc_error_text_cannot_ping_or_link(error_code: str, error_msg: str):
    text = messages.coc_failed(USER, "ops-prod", TASK, error_code, error_msg, None)

    assert only_own_markup(text)


@given(st.text(min_size=601, max_size=20_000))
def test_a_huge_coc_error_message_is_clipped(error_msg: str):
    text = messages.coc_failed(USER, "ops-prod", TASK, "COC.1", error_msg, None)

    assert len(text) < 1000


@given(hostile, st.booleans())
def test_an_unreachable_coc_reason_cannot_ping_or_link(reason: str, may_have_acted: bool):
    assert only_own_markup(messages.coc_unavailable(USER, "ops-prod", TASK, reason, may_have_acted))


@given(hostile, hostile)
def test_what_iam_said_cannot_ping_or_link(identity: str, reason: str):
    assert only_own_markup(messages.credentials_failed(USER, identity, TASK, reason))


@given(hostile, hostile)
def test_history_and_in_flight_details_cannot_ping_or_link(identity: str, detail: str):
    assert only_own_markup(messages.history_line("2025-01-01 00:00", USER, TASK, identity, "failed", detail))
    assert only_own_markup(messages.in_flight_outcome(TASK, USER, "failed", detail))


@given(hostile)
def test_an_unknown_subcommand_is_echoed_harmlessly(typed: str):
    text = messages.UNKNOWN_SUBCOMMAND.format(text=code(typed[:80]))

    assert "<" not in text and ">" not in text


@given(hostile)
def test_an_unmapped_user_id_is_shown_harmlessly(user_id: str):
    assert "<" not in messages.unmapped(user_id)
