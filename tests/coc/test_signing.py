"""Our SDK-HMAC-SHA256 signer against Huawei's own ``huaweicloudsdkcore`` signer."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import quote

import httpx
import pytest
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.coc import signing
from bot.coc.signing import HuaweiSigner
from bot.identities.credentials import Credentials
from tests.peers import huawei_verify
from tests.peers.keyring import Key, Keyring

EXAMPLES = settings(max_examples=300, deadline=None)

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
SPACE = st.sampled_from(["", " ", "\t", "  "])
METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "get", "post"])
HOSTS = st.sampled_from(["coc.myhuaweicloud.com", "127.0.0.1:8443"])
DATES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31))
ACCESS_KEYS = st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=24)
SECRET_KEYS = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
TOKENS = st.text(string.ascii_letters + string.digits + "+/=-", min_size=1, max_size=80)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/json;charset=UTF-8", "application/bson", "text/plain", "multipart/form-data"]
)
HEADER_NAMES = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=12)
OWN_HEADERS = {
    "host",
    "x-sdk-date",
    "authorization",
    "content-type",
    "content-length",
    "x-domain-id",
    "x-security-token",
    "x-sdk-content-sha256",
}


def padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(SPACE, values, SPACE).map("".join)


def unique_names(headers: dict[str, str]) -> bool:
    return len({name.lower() for name in headers}) == len(headers)


def sdk_signed(
    access_key: str,
    secret_key: str,
    method: str,
    host: str,
    raw_path: str,
    query: list[tuple[str, str]],
    headers: dict[str, str],
    body: bytes,
) -> SdkRequest:
    request = SdkRequest(
        method=method,
        schema="https",
        host=host,
        resource_path=raw_path,
        query_params=list(query),
        header_params=dict(headers),
        body=body,
    )
    return Signer(SimpleNamespace(ak=access_key, sk=secret_key)).sign(request)


@EXAMPLES
@given(
    access_key=ACCESS_KEYS,
    secret_key=SECRET_KEYS,
    method=METHODS,
    host=HOSTS,
    raw_path=st.lists(TEXT, max_size=5).map(lambda segments: "/" + "/".join(segments)),
    query=st.lists(st.tuples(TEXT, TEXT), max_size=6),
    extra=st.dictionaries(HEADER_NAMES, padded(TEXT), max_size=5).filter(unique_names),
    content_type=st.none() | st.tuples(st.sampled_from(["Content-Type", "content-type"]), padded(CONTENT_TYPES)),
    date=DATES,
    body=st.binary(max_size=64),
)
def test_authorization_matches_huawei_signer(
    access_key: str,
    secret_key: str,
    method: str,
    host: str,
    raw_path: str,
    query: list[tuple[str, str]],
    extra: dict[str, str],
    content_type: tuple[str, str] | None,
    date: datetime,
    body: bytes,
) -> None:
    headers = {name: value for name, value in extra.items() if name.lower() not in OWN_HEADERS}
    headers["X-Sdk-Date"] = date.strftime(signing.DATE_FORMAT)
    headers["Host"] = host
    if content_type is not None:
        headers[content_type[0]] = content_type[1]

    theirs = sdk_signed(access_key, secret_key, method, host, raw_path, query, headers, body)
    # Huawei's signer may add X-Sdk-Content-Sha256 to sign; those are then headers to sign.
    added = {name: theirs.header_params[name] for name in theirs.header_params if name not in headers}
    added.pop("Authorization")

    ours = signing.authorization(
        access_key,
        secret_key,
        method=method,
        raw_path=raw_path,
        query=query,
        headers={**headers, **added},
        body=body,
    )

    assert ours == theirs.header_params["Authorization"]


@EXAMPLES
@given(
    access_key=ACCESS_KEYS,
    secret_key=SECRET_KEYS,
    token=st.none() | TOKENS,
    domain_id=st.none() | st.text("0123456789abcdef", min_size=32, max_size=32),
    method=METHODS,
    host=HOSTS,
    segments=st.lists(
        st.text(st.characters(codec="utf-8", exclude_categories=["Cc"], exclude_characters="/?#"), max_size=10)
        | TEXT.map(lambda text: quote(text, safe="")),
        max_size=5,
    ),
    params=st.dictionaries(TEXT, st.lists(TEXT, min_size=1, max_size=3), max_size=4),
    extra=st.dictionaries(HEADER_NAMES, padded(st.text(string.printable.strip(), max_size=12)), max_size=4),
    content_type=st.none() | st.tuples(st.sampled_from(["Content-Type", "content-TYPE"]), padded(CONTENT_TYPES)),
    date=DATES,
    body=st.binary(max_size=64),
)
def test_signed_httpx_request_matches_huawei_signer_and_verifies(
    access_key: str,
    secret_key: str,
    token: str | None,
    domain_id: str | None,
    method: str,
    host: str,
    segments: list[str],
    params: dict[str, list[str]],
    extra: dict[str, str],
    content_type: tuple[str, str] | None,
    date: datetime,
    body: bytes,
) -> None:
    headers = {name: value for name, value in extra.items() if name.lower() not in OWN_HEADERS}
    if content_type is not None:
        headers[content_type[0]] = content_type[1]
    request = httpx.Request(
        method, f"http://{host}/" + "/".join(segments), params=params, headers=headers, content=body
    )
    raw_path = request.url.raw_path.split(b"?")[0].decode("ascii")
    credentials = Credentials(access_key, SecretStr(secret_key), SecretStr(token) if token else None)

    signed = next(HuaweiSigner(credentials, domain_id, clock=lambda: date).auth_flow(request))

    sdk_headers = {"Host": host, "X-Sdk-Date": date.strftime(signing.DATE_FORMAT)}
    if content_type is not None:
        sdk_headers["Content-Type"] = content_type[1]
    if domain_id:
        sdk_headers["X-Domain-Id"] = domain_id
    if token:
        sdk_headers["X-Security-Token"] = token
    intended = [(name, value) for name, values in params.items() for value in values]
    theirs = sdk_signed(access_key, secret_key, method, host, raw_path, intended, sdk_headers, body)
    assert signed.headers["authorization"] == theirs.header_params["Authorization"]
    assert signed.url.query.decode("ascii") == theirs.uri.partition("?")[2]

    keyring = Keyring()
    key = keyring.add(Key(access_key, secret_key, domain_id or "", security_token=token))
    arrived = {name.lower(): value for name, value in signed.headers.items()}
    verified = huawei_verify.verify(
        method,
        raw_path,
        signed.url.query,
        arrived,
        body,
        keyring,
        now=date.replace(tzinfo=UTC),
        require_domain=domain_id is not None,
    )
    assert verified == key


def test_canonical_request_of_a_task_list_call() -> None:
    headers = {
        "Host": "coc.myhuaweicloud.com",
        "X-Sdk-Date": "20240101T000000Z",
        "Content-Type": " application/json ",
        "X-Domain-Id": "0123456789abcdef0123456789abcdef",
    }

    canonical = signing.canonical_request(
        "get", "/v1/schedule/task", [("task_name", "night ly"), ("limit", "1")], headers, b""
    )

    assert canonical == (
        "GET\n"
        "/v1/schedule/task/\n"
        "limit=1&task_name=night%20ly\n"
        "content-type:application/json\n"
        "host:coc.myhuaweicloud.com\n"
        "x-domain-id:0123456789abcdef0123456789abcdef\n"
        "x-sdk-date:20240101T000000Z\n"
        "\n"
        "content-type;host;x-domain-id;x-sdk-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_string_to_sign_names_algorithm_date_and_request_hash() -> None:
    to_sign = signing.string_to_sign("GET\n/\n\nhost:h\n\nhost\n" + signing.EMPTY_BODY_HASH, "20240101T000000Z")

    algorithm, date, digest = to_sign.split("\n")
    assert (algorithm, date) == ("SDK-HMAC-SHA256", "20240101T000000Z")
    assert len(digest) == 64 and set(digest) <= set("0123456789abcdef")


def test_canonical_uri_decodes_before_encoding() -> None:
    assert signing.canonical_uri("/a%20b/c d/%7e/") == signing.canonical_uri("/a b/c%20d/~") == "/a%20b/c%20d/~/"


def test_authorization_needs_a_date() -> None:
    with pytest.raises(ValueError, match="X-Sdk-Date"):
        signing.authorization("AK", "SK", method="GET", raw_path="/", query=[], headers={"Host": "h"}, body=b"")


def test_signer_sets_and_signs_domain_and_security_token() -> None:
    credentials = Credentials("AK", SecretStr("SK"), SecretStr("token-value"))
    request = httpx.Request("POST", "https://coc.myhuaweicloud.com/v1/x", json={})

    signed = next(HuaweiSigner(credentials, "dom").auth_flow(request))

    assert signed.headers["x-domain-id"] == "dom"
    assert signed.headers["x-security-token"] == "token-value"
    assert "SignedHeaders=content-type;host;x-domain-id;x-sdk-date;x-security-token," in signed.headers["authorization"]


def test_signer_without_domain_or_token_signs_neither() -> None:
    request = httpx.Request("GET", "https://coc.myhuaweicloud.com/v1/x")

    signed = next(HuaweiSigner(Credentials("AK", SecretStr("SK")), None).auth_flow(request))

    assert "x-domain-id" not in signed.headers
    assert "x-security-token" not in signed.headers
    assert "SignedHeaders=host;x-sdk-date," in signed.headers["authorization"]


def test_each_send_is_signed_with_a_fresh_date() -> None:
    times = iter([datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=3)])
    signer = HuaweiSigner(Credentials("AK", SecretStr("SK")), "dom", clock=lambda: next(times))
    request = httpx.Request("POST", "https://coc.myhuaweicloud.com/v1/x", json={})

    first = next(signer.auth_flow(request)).headers.copy()
    second = next(signer.auth_flow(request)).headers.copy()

    assert (first["x-sdk-date"], second["x-sdk-date"]) == ("20240101T000000Z", "20240101T000003Z")
    assert first["authorization"] != second["authorization"]


def test_signer_repr_shows_no_secret() -> None:
    credentials = Credentials("AKVISIBLE", SecretStr("very-secret-key"), SecretStr("secret-token"))

    shown = repr(HuaweiSigner(credentials, "dom"))

    assert "AKVISIBLE" in shown
    assert "very-secret-key" not in shown
    assert "secret-token" not in shown
