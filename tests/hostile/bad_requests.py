"""The catalogue of bad requests: each one builds itself against a :class:`Forge` and sends.

``expect`` says what Slack's semantics want back:

- ``refused``: a 4xx from the HTTP edge, before anything parses the body;
- ``unroutable``: signed and well-formed, but for no listener of this app: a 4xx;
- ``inline``: a signed submission of the modal with bad input: 200 with inline errors;
- ``reply``: a signed slash command with bad input: 200 with an ephemeral reply, no modal;
- ``dropped``: the client gave up mid-request; whatever comes back is not a 5xx.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tests.hostile.forge import Answer, Forge, form, interaction

Expect = Literal["refused", "unroutable", "inline", "reply", "dropped"]
OVERSIZE = 1024 * 1024 + 1

TASK_TAIL = "a" * 24
BAD_TASK_IDS = {
    "dotdot": "ST" + "a" * 21 + "../",
    "percent-2f": "ST" + "a" * 21 + "%2F",
    "encoded-dotdot": "ST" + "a" * 18 + "%2E%2E%2F",
    "slash": "ST" + "a" * 11 + "/" + "a" * 12,
    "nul": "ST" + "a" * 23 + "\x00",
    "cyrillic-a": "ST" + "\u0430" * 24,
    "fullwidth-digits": "ST" + "\uff11" * 24,
    "zero-width-space": "ST" + "a" * 12 + "\u200b" + "a" * 11,
    "right-to-left-override": "ST" + "a" * 12 + "\u202e" + "a" * 11,
    "too-short": "ST123",
    "too-long": "ST" + "a" * 30,
}


@dataclass(frozen=True)
class Case:
    id: str
    send: Callable[[Forge], Answer]
    expect: Expect
    setup_lines: int = 0
    """Log lines a genuine request the case sends first leaves (a replay's original)."""


def _headers_case(mutate: Callable[[Forge, bytes, dict[str, Any]], None]) -> Callable[[Forge], Answer]:
    """Sign a valid slash command, let ``mutate`` spoil the headers, send without re-signing."""

    def send(forge: Forge) -> Answer:
        body = forge.command("")
        headers: dict[str, Any] = dict(forge.signed(body))
        mutate(forge, body, headers)
        return forge.send(body, headers, signed=False)

    return send


def _timestamp(value: str | bytes) -> Callable[[Forge, bytes, dict[str, Any]], None]:
    def mutate(forge: Forge, body: bytes, headers: dict[str, Any]) -> None:
        headers["X-Slack-Request-Timestamp"] = value

    return mutate


def _signature(value: str | bytes) -> Callable[[Forge, bytes, dict[str, Any]], None]:
    def mutate(forge: Forge, body: bytes, headers: dict[str, Any]) -> None:
        headers["X-Slack-Signature"] = value

    return mutate


def _resign(offset: int) -> Callable[[Forge, bytes, dict[str, Any]], None]:
    def mutate(forge: Forge, body: bytes, headers: dict[str, Any]) -> None:
        headers.update(forge.signed(body, timestamp=int(time.time()) + offset))

    return mutate


def _wrong_secret(forge: Forge, body: bytes, headers: dict[str, Any]) -> None:
    headers.update(forge.signed(body, secret="not-the-signing-secret"))


def _drop(*names: str) -> Callable[[Forge, bytes, dict[str, Any]], None]:
    def mutate(forge: Forge, body: bytes, headers: dict[str, Any]) -> None:
        for name in names:
            del headers[name]

    return mutate


def _uppercase_signature(forge: Forge, body: bytes, headers: dict[str, Any]) -> None:
    headers["X-Slack-Signature"] = "v0=" + headers["X-Slack-Signature"][3:].upper()


def _signature_of_empty_body(forge: Forge, body: bytes, headers: dict[str, Any]) -> None:
    headers.update(forge.signed(b""))


def _tampered_body(forge: Forge) -> Answer:
    body = forge.command("help")
    headers = forge.signed(body)
    return forge.send(body.replace(b"text=help", b"text=STaaaaaaaaaaaaaaaaaaaaaaaa"), headers, signed=False)


def _tampered_timestamp(forge: Forge) -> Answer:
    body = forge.command("")
    headers = forge.signed(body)
    headers["X-Slack-Request-Timestamp"] = str(int(headers["X-Slack-Request-Timestamp"]) + 1)
    return forge.send(body, headers, signed=False)


def _replay(forge: Forge) -> Answer:
    # "help" changes nothing anywhere, so the first, genuine delivery leaves no trace to confuse.
    body = forge.command("help")
    headers = forge.signed(body)
    first = forge.send(body, headers, signed=False)
    assert first.status == 200, first
    return forge.send(body, headers, signed=False)


def _forged_lazy_only(forge: Forge) -> Answer:
    body = forge.command("")
    headers = {
        **forge.signed(body, secret="not-the-signing-secret"),
        "X-Slack-Bolt-Lazy-Only": "1",
        "X-Slack-Bolt-Lazy-Function-Name": "enable_schedule",
    }
    return forge.send(body, headers, signed=False)


def _body(build: Callable[[Forge], bytes]) -> Callable[[Forge], Answer]:
    def send(forge: Forge) -> Answer:
        return forge.send(build(forge))

    return send


def _oversize_with_length(forge: Forge) -> Answer:
    return forge.send(forge.command("x" * OVERSIZE))


def _oversize_chunked(forge: Forge) -> Answer:
    return forge.send_chunked(forge.command("x" * OVERSIZE))


def _declared_oversize(forge: Forge) -> Answer:
    body = forge.command("help")
    return forge.send_raw(forge.raw_head(body, content_length=OVERSIZE * 50), body)


def _non_numeric_length(forge: Forge) -> Answer:
    body = forge.command("help")
    return forge.send_raw(forge.raw_head(body, content_length="12ab"), body)


def _truncated(forge: Forge) -> Answer:
    body = forge.command("help")
    return forge.send_raw(forge.raw_head(body, content_length=len(body) + 100), body, half_close=True)


def _truncated_chunked(forge: Forge) -> Answer:
    body = forge.command("help")
    head = forge.raw_head(body, content_length=None, extra={"Transfer-Encoding": "chunked"})
    first_chunk = f"{len(body):x}\r\n".encode() + body[:10]
    return forge.send_raw(head, first_chunk, half_close=True)


def _command_text(text: str) -> Callable[[Forge], Answer]:
    def send(forge: Forge) -> Answer:
        return forge.send(forge.command(text))

    return send


def _submitted_task(task: str) -> Callable[[Forge], Answer]:
    def send(forge: Forge) -> Answer:
        values = {"task": {"task_id": {"type": "plain_text_input", "value": task}}}
        return forge.send(interaction(forge.submission_payload(values)))

    return send


def _submission(change: Callable[[dict[str, Any]], None]) -> Callable[[Forge], Answer]:
    """A submission of the real modal with a valid task ID, spoiled by ``change``."""

    def send(forge: Forge) -> Answer:
        values = {"task": {"task_id": {"type": "plain_text_input", "value": "ST" + TASK_TAIL}}}
        payload = forge.submission_payload(values)
        change(payload)
        return forge.send(interaction(payload))

    return send


def _action(change: Callable[[dict[str, Any]], None], action_id: str = "add_ticket") -> Callable[[Forge], Answer]:
    def send(forge: Forge) -> Answer:
        payload = forge.action_payload(action_id)
        change(payload)
        return forge.send(interaction(payload))

    return send


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a dotted ``path`` in a payload (``view.state.values``) to ``value``."""

    def change(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = payload
        for name in parents:
            target = target[name]
        target[last] = value

    return change


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def change(payload: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = payload
        for name in parents:
            target = target[name]
        del target[last]

    return change


def _nothing(payload: dict[str, Any]) -> None:
    return None


def _command_without(name: str) -> Callable[[Forge], Answer]:
    def send(forge: Forge) -> Answer:
        fields = forge.command_fields("")
        del fields[name]
        return forge.send(form(fields))

    return send


_NOW = int(time.time())
LONE_SURROGATE = '{"type": "view_submission", "user": {"id": "U\\ud800"}, "view": {"callback_id": "x"}}'
"""Valid JSON whose escape decodes to half a UTF-16 pair, which Slack never sends."""

SIGNATURE_CASES = [
    Case("wrong-secret", _headers_case(_wrong_secret), "refused"),
    Case("tampered-body", _tampered_body, "refused"),
    Case("tampered-timestamp", _tampered_timestamp, "refused"),
    Case("timestamp-six-minutes-old", _headers_case(_resign(-360)), "refused"),
    Case("timestamp-a-day-old", _headers_case(_resign(-86_400)), "refused"),
    Case("timestamp-six-minutes-ahead", _headers_case(_resign(360)), "refused"),
    Case("timestamp-non-numeric", _headers_case(_timestamp("12ab")), "refused"),
    Case("timestamp-overlong", _headers_case(_timestamp("9" * 40)), "refused"),
    Case("timestamp-negative", _headers_case(_timestamp("-1")), "refused"),
    Case("timestamp-fractional", _headers_case(_timestamp(f"{_NOW}.5")), "refused"),
    Case("timestamp-arabic-indic-digits", _headers_case(_timestamp("١٧٠٠٠٠٠٠٠٠".encode())), "refused"),
    Case("timestamp-empty", _headers_case(_timestamp("")), "refused"),
    Case("signature-empty", _headers_case(_signature("")), "refused"),
    Case("signature-v1-scheme", _headers_case(_signature("v1=" + "0" * 64)), "refused"),
    Case("signature-uppercase-hex", _headers_case(_uppercase_signature), "refused"),
    Case("signature-truncated", _headers_case(_signature("v0=" + "a" * 63)), "refused"),
    Case("signature-overlong", _headers_case(_signature("v0=" + "a" * 4096)), "refused"),
    Case("signature-non-ascii", _headers_case(_signature(("v0=" + "é" * 64).encode())), "refused"),
    Case("signature-of-empty-body", _headers_case(_signature_of_empty_body), "refused"),
    Case("signature-missing", _headers_case(_drop("X-Slack-Signature")), "refused"),
    Case("timestamp-missing", _headers_case(_drop("X-Slack-Request-Timestamp")), "refused"),
    Case("no-slack-headers", _headers_case(_drop("X-Slack-Signature", "X-Slack-Request-Timestamp")), "refused"),
    Case("replay-of-captured-request", _replay, "refused", setup_lines=1),
    Case("forged-with-bolt-lazy-only-headers", _forged_lazy_only, "refused"),
]

BODY_CASES = [
    Case("body-invalid-utf8", _body(lambda f: b"command=%2Fenable-schedule&text=\xff\xfe"), "refused"),
    Case("body-json-not-form", _body(lambda f: b'{"command": "/enable-schedule"}'), "refused"),
    Case("body-empty", _body(lambda f: b""), "refused"),
    Case("body-neither-command-nor-interaction", _body(lambda f: form({"hello": "world"})), "refused"),
    Case("body-broken-form", _body(lambda f: b"a=1&&&b"), "refused"),
    Case("body-too-many-fields", _body(lambda f: "&".join(f"f{i}=1" for i in range(300)).encode()), "refused"),
    Case("payload-not-json", _body(lambda f: b"payload=%7Bnot-json"), "refused"),
    Case("payload-json-array", _body(lambda f: form({"payload": "[]"})), "refused"),
    Case("payload-json-null", _body(lambda f: form({"payload": "null"})), "refused"),
    Case("payload-unknown-type", _body(lambda f: interaction({"type": "mystery", "user": {"id": "U1"}})), "refused"),
    Case("payload-without-user", _submission(_delete("user")), "refused"),
    Case("payload-user-id-not-a-string", _submission(_set("user.id", 5)), "refused"),
    Case("payload-team-not-an-object", _submission(_set("team", 5)), "refused"),
    Case("payload-team-a-string", _submission(_set("team", "T0TEAM001")), "refused"),
    Case("payload-channel-a-number", _action(_set("channel", 7)), "refused"),
    Case("payload-lone-surrogate", _body(lambda f: form({"payload": LONE_SURROGATE})), "refused"),
    Case("payload-enterprise-not-an-object", _submission(_set("enterprise", 5)), "refused"),
    Case("payload-authorizations-not-a-list", _submission(_set("authorizations", 5)), "refused"),
    Case("payload-response-urls-not-a-list", _submission(_set("response_urls", "x")), "refused"),
    Case("payload-with-an-event", _submission(_set("event", {"type": "app_mention", "user": 5})), "refused"),
    Case("oversize-with-content-length", _oversize_with_length, "refused"),
    Case("oversize-chunked", _oversize_chunked, "refused"),
    Case("oversize-declared-only", _declared_oversize, "refused"),
    Case("content-length-non-numeric", _non_numeric_length, "refused"),
    Case("truncated-body", _truncated, "dropped"),
    Case("truncated-chunked-body", _truncated_chunked, "dropped"),
    Case("huge-command-text", _command_text("x" * 900_000), "reply"),
    Case("huge-private-metadata", _submission(_set("view.private_metadata", "x" * 900_000)), "inline"),
]

COMMAND_CASES = [
    Case("command-unknown", _body(lambda f: f.command("", command="/other-command")), "unroutable"),
    Case("command-without-user-id", _command_without("user_id"), "refused"),
    Case("command-without-channel-id", _command_without("channel_id"), "refused"),
    Case("command-without-response-url", _command_without("response_url"), "refused"),
    Case("command-without-trigger-id", _command_without("trigger_id"), "refused"),
    Case("command-response-url-not-a-url", _body(lambda f: f.command("", response_url="javascript:x")), "refused"),
    Case("command-unknown-subcommand", _command_text("../../etc/passwd"), "reply"),
    Case("command-text-payload", _command_text("payload"), "reply"),
]

VIEW_CASES = [
    Case("view-unknown-callback-id", _submission(_set("view.callback_id", "somebody_elses_modal")), "unroutable"),
    Case("view-without-callback-id", _submission(_delete("view.callback_id")), "refused"),
    Case("view-without-type", _submission(_delete("view.type")), "refused"),
    Case("view-of-a-workflow-step", _submission(_set("view.type", "workflow_step")), "refused"),
    Case("view-not-an-object", _submission(_set("view", "modal")), "refused"),
    Case("view-without-id", _submission(_delete("view.id")), "refused"),
    Case("action-in-a-view-without-id", _action(_set("view.id", "")), "refused"),
    Case("view-state-not-an-object", _submission(_set("view.state", [])), "refused"),
    Case("view-state-values-garbage", _submission(_set("view.state.values", "garbage")), "refused"),
    Case("view-state-block-not-an-object", _submission(_set("view.state.values", {"task": "x"})), "refused"),
    Case(
        "view-state-element-not-an-object", _submission(_set("view.state.values", {"task": {"task_id": 7}})), "refused"
    ),
    Case("view-state-empty", _submission(_set("view.state.values", {})), "inline"),
    Case("view-state-value-not-a-string", _submission(_set("view.state.values.task.task_id.value", 123)), "inline"),
    Case("view-metadata-not-ours", _submission(_set("view.private_metadata", '{"foo": "bar"}')), "inline"),
    Case("view-metadata-not-json", _submission(_set("view.private_metadata", "hello")), "inline"),
    Case("view-metadata-missing", _submission(_delete("view.private_metadata")), "inline"),
    Case(
        "view-metadata-rows-not-a-number",
        _submission(_set("view.private_metadata", '{"c":"C1","r":null,"n":"9"}')),
        "inline",
    ),
    Case("view-closed-unhandled", _submission(_set("type", "view_closed")), "unroutable"),
]

ACTION_CASES = [
    Case("action-unknown-action-id", _action(_nothing, action_id="delete_everything"), "unroutable"),
    Case("action-list-empty", _action(_set("actions", [])), "refused"),
    Case("action-not-an-object", _action(_set("actions", [1])), "refused"),
    Case("action-id-not-a-string", _action(_set("actions", [{"action_id": 5}])), "refused"),
    Case("action-without-actions", _action(_delete("actions")), "refused"),
    Case("action-state-garbage", _action(_set("view.state.values", {"task": ["x"]})), "refused"),
    Case(
        "block-suggestion-unhandled",
        _body(
            lambda f: interaction({"type": "block_suggestion", "user": {"id": "U1"}, "action_id": "x", "value": "a"})
        ),
        "unroutable",
    ),
    Case(
        "shortcut-unhandled",
        _body(lambda f: interaction({"type": "shortcut", "user": {"id": "U1"}, "callback_id": "x"})),
        "unroutable",
    ),
]

TASK_ID_COMMAND_CASES = [
    Case(f"command-task-{name}", _command_text(task), "reply") for name, task in BAD_TASK_IDS.items()
]
TASK_ID_SUBMISSION_CASES = [
    Case(f"submitted-task-{name}", _submitted_task(task), "inline") for name, task in BAD_TASK_IDS.items()
]

CASES = SIGNATURE_CASES + BODY_CASES + COMMAND_CASES + VIEW_CASES + ACTION_CASES + TASK_ID_SUBMISSION_CASES
"""Every case whose expected answer the bot gives today; :data:`TASK_ID_COMMAND_CASES` stand apart."""
