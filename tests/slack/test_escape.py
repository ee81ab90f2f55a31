import re

from hypothesis import given
from hypothesis import strategies as st

from bot.slack.escape import code, escape


def test_channel_ping_mention_and_link_are_neutralised():
    text = "boom <!channel> <@U999> <https://evil.example|click> & more"
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert escaped == "boom &lt;!channel&gt; &lt;@U999&gt; &lt;https://evil.example|click&gt; &amp; more"


@given(st.text())
def test_escaped_text_holds_no_control_characters_of_mrkdwn(text):
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    # Every & left is the start of one of the three entities.
    assert re.fullmatch(r"(?:[^&]|&amp;|&lt;|&gt;)*", escaped, flags=re.DOTALL)


@given(st.text())
def test_escaping_loses_nothing(text):
    assert escape(text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


@given(st.text())
def test_code_span_cannot_be_closed_early(text):
    rendered = code(text)
    assert rendered.startswith("`") and rendered.endswith("`")
    assert "`" not in rendered[1:-1]
    assert "<" not in rendered
