import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest

from bot.slack import edge

SECRET = b"s3cr3t-signing"


def signed(body: bytes, ts: int | None = None, secret: bytes = SECRET):
    ts = int(time.time()) if ts is None else ts
    sig = "v0=" + hmac.new(secret, f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": str(ts), "x-slack-signature": sig}


def test_good_signature_passes():
    body = b"command=%2Fenable-schedule"
    assert edge.verify_signature(signed(body), body, SECRET, time.time()).startswith("v0=")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h: h.pop("x-slack-signature"), "missing"),
        (lambda h: h.pop("x-slack-request-timestamp"), "missing"),
        (lambda h: h.update({"x-slack-request-timestamp": "12ab"}), "malformed timestamp"),
        (lambda h: h.update({"x-slack-request-timestamp": "9" * 40}), "malformed timestamp"),
        (lambda h: h.update({"x-slack-request-timestamp": str(int(time.time()) - 301)}), "window"),
        (lambda h: h.update({"x-slack-request-timestamp": str(int(time.time()) + 301)}), "window"),
        (lambda h: h.update({"x-slack-signature": "v1=" + "0" * 64}), "malformed signature"),
        (lambda h: h.update({"x-slack-signature": "v0=" + "é" * 64}), "malformed signature"),
        (lambda h: h.update({"x-slack-signature": "v0=" + "0" * 64}), "mismatch"),
    ],
)
def test_bad_headers_are_refused_with_401(mutate, reason):
    body = b"command=x"
    headers = signed(body)
    mutate(headers)
    with pytest.raises(edge.Refusal) as info:
        edge.verify_signature(headers, body, SECRET, time.time())
    assert info.value.status == 401 and reason in info.value.reason


def test_tampered_body_and_wrong_secret_are_refused():
    body = b"command=x&text=ST1"
    with pytest.raises(edge.Refusal):
        edge.verify_signature(signed(body), body + b"2", SECRET, time.time())
    with pytest.raises(edge.Refusal):
        edge.verify_signature(signed(body, secret=b"other"), body, SECRET, time.time())


def test_replay_guard_refuses_the_second_sight_only_within_the_window():
    guard = edge.ReplayGuard(window=300)
    assert guard.first_time("v0=a", 1000.0)
    assert not guard.first_time("v0=a", 1001.0)
    assert guard.first_time("v0=b", 1001.0)
    assert guard.first_time("v0=a", 1400.0)


def form(**fields):
    return urlencode(fields).encode()


def test_slash_command_and_interaction_shapes_pass():
    assert edge.check_shape(form(command="/enable-schedule", user_id="U1", channel_id="C1", team_id="T1"))
    payload = {"type": "view_submission", "user": {"id": "U1"}, "view": {"callback_id": "x", "state": {}}}
    assert edge.check_shape(form(payload=json.dumps(payload)))["payload"]["type"] == "view_submission"


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe",
        b"payload=%7Bnot-json",
        form(payload="[]"),
        form(payload=json.dumps({"type": "mystery", "user": {"id": "U1"}})),
        form(payload=json.dumps({"type": "view_submission", "user": {"id": "U1"}})),
        form(payload=json.dumps({"type": "view_submission", "user": {"id": 5}, "view": {"callback_id": "x"}})),
        form(payload=json.dumps({"type": "block_actions", "user": {"id": "U1"}})),
        form(
            payload=json.dumps(
                {"type": "view_submission", "user": {"id": "U1"}, "view": {"callback_id": "x", "state": []}}
            )
        ),
        form(command="/enable-schedule", channel_id="C1", team_id="T1"),
        form(hello="world"),
        b"a=1&&&b",
    ],
)
def test_malformed_signed_bodies_get_400(body):
    with pytest.raises(edge.Refusal) as info:
        edge.check_shape(body)
    assert info.value.status == 400


def test_internal_bolt_headers_are_not_forwarded():
    headers = {"X-Slack-Bolt-Lazy-Only": "1", "x-slack-bolt-lazy-function-name": "f", "content-type": "a"}
    assert edge.forwarded_headers(headers) == {"content-type": "a"}


def test_payload_nested_deeper_than_the_parser_goes_gets_400():
    with pytest.raises(edge.Refusal) as info:
        edge.check_shape(form(payload="[" * 100_000 + "]" * 100_000))
    assert info.value.status == 400
