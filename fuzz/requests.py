"""Hypothesis strategies for requests to ``POST /slack/events``.

A request is a body and a way to sign it. Bodies start from what Slack really sends (a
slash command, a submission of the bot's own modal, a click on its button) and are then
mutated: a field replaced by any JSON value, removed, or joined by a stranger; or they
are arbitrary bytes. Signing is mostly right, since a wrong signature stops at the first
check, and sometimes stale, future, flipped, missing or junk.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

SIGNINGS = ("signed",) * 8 + ("stale", "future", "wrong-secret", "flipped", "missing", "junk")
# What Bolt and the listeners read: mutations land here half the time, not in Block Kit blocks.
HOT_FIELDS = frozenset({"type", "user", "team", "enterprise", "channel", "actions", "response_urls", "text", "command"})
HOT_VIEW_FIELDS = frozenset({"id", "type", "callback_id", "private_metadata", "state", "hash"})
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

interesting_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "",
            "help",
            "history",
            "payload",
            "ST" + "a" * 24,
            "ST" + "a" * 21 + "../",
            "ST" + "a" * 21 + "%2F",
            "ST" + "a" * 23 + "\x00",
            "ST" + "\u0430" * 24,
            "<!channel>",
            "x" * 5000,
            '{"c":"C1","r":null,"n":1}',
            "http://127.0.0.1:1/x",
        ]
    ),
    st.text(alphabet=ALNUM, min_size=24, max_size=24).map(lambda tail: "ST" + tail),
)
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), interesting_text),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
header_junk = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80)
extra_headers = st.dictionaries(
    st.sampled_from(
        [
            "X-Slack-Bolt-Lazy-Only",
            "X-Slack-Bolt-Lazy-Function-Name",
            "X-Slack-Retry-Num",
            "X-Forwarded-For",
            "Content-Type",
            "Content-Encoding",
        ]
    ),
    header_junk,
    max_size=3,
)


@dataclass(frozen=True)
class FuzzRequest:
    body: bytes
    signing: str
    headers: dict[str, str] = field(default_factory=dict)
    family: str = ""

    def __repr__(self) -> str:
        return f"FuzzRequest({self.family}, {self.signing}, {self.body[:300]!r}, headers={self.headers})"


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value that a mutation can replace or remove."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        root = root[step]
    return root


@st.composite
def mutated(draw: st.DrawFn, template: Mapping[str, Any], max_mutations: int = 3) -> dict[str, Any]:
    """``template`` with up to ``max_mutations`` fields replaced, removed or added."""
    value = copy.deepcopy(dict(template))
    for _ in range(draw(st.integers(min_value=0, max_value=max_mutations))):
        paths = _paths(value)
        operation = draw(st.sampled_from(["replace", "replace", "remove", "add"]))
        if operation == "add" or not paths:
            containers = [p for p in paths if isinstance(_parent(value, (*p, None)), dict)] or [()]
            target = _parent(value, (*draw(st.sampled_from(containers)), None))
            if isinstance(target, dict):
                target[draw(st.text(max_size=12))] = draw(json_values)
            continue
        hot = [p for p in paths if p[0] in HOT_FIELDS or (p[0] == "view" and p[1:2] and p[1] in HOT_VIEW_FIELDS)]
        path = draw(st.sampled_from(hot if hot and draw(st.booleans()) else paths))
        parent = _parent(value, path)
        if operation == "remove":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return value


def _as_form(fields: Mapping[str, Any]) -> bytes:
    return urlencode({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}).encode()


def requests(command: Mapping[str, str], interactions: list[Mapping[str, Any]]) -> st.SearchStrategy[FuzzRequest]:
    """Requests built from a real slash command's fields and real interaction payloads."""
    signing = st.sampled_from(SIGNINGS)
    commands = st.builds(
        lambda fields, how, headers: FuzzRequest(_as_form(fields), how, headers, "command"),
        mutated(command).flatmap(
            lambda fields: st.just(fields) | st.builds(lambda t: {**fields, "text": t}, interesting_text)
        ),
        signing,
        extra_headers,
    )
    payloads = st.builds(
        lambda payload, how, headers: FuzzRequest(
            urlencode({"payload": json.dumps(payload)}).encode(), how, headers, "interaction"
        ),
        st.sampled_from(interactions).flatmap(mutated),
        signing,
        extra_headers,
    )
    raw_json = st.builds(
        lambda value, how: FuzzRequest(urlencode({"payload": json.dumps(value)}).encode(), how, {}, "payload-json"),
        json_values,
        signing,
    )
    raw = st.builds(lambda body, how: FuzzRequest(body, how, {}, "bytes"), st.binary(max_size=2048), signing)
    forms = st.builds(
        lambda fields, how: FuzzRequest(_as_form(fields), how, {}, "form"),
        st.dictionaries(st.sampled_from(["command", "payload", "ssl_check", "user_id", "text", "x"]), interesting_text),
        signing,
    )
    return st.one_of(payloads, payloads, commands, commands, raw_json, forms, raw)
