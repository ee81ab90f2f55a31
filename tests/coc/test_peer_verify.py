"""The peers' signature check refuses what a Huawei Cloud gateway would refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from bot.coc.signing import HuaweiSigner
from bot.identities.credentials import Credentials
from tests.peers.huawei_verify import SignatureRejected, verify
from tests.peers.keyring import Key, Keyring

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DOMAIN = "0123456789abcdef0123456789abcdef"
PERMANENT = Key("PERMAK00000000000001", "permanent-secret", DOMAIN)
TEMPORARY = Key(
    "TEMPAK00000000000001", "temporary-secret", DOMAIN, security_token="token-1", expires_at=NOW + timedelta(hours=1)
)


def keyring() -> Keyring:
    keys = Keyring()
    keys.add(PERMANENT)
    keys.add(TEMPORARY)
    return keys


def credentials(key: Key) -> Credentials:
    token = SecretStr(key.security_token) if key.security_token else None
    return Credentials(key.access_key, SecretStr(key.secret_key), token)


def signed(key: Key, *, at: datetime = NOW, domain_id: str | None = DOMAIN, body: bytes = b'{"a":1}') -> httpx.Request:
    request = httpx.Request(
        "POST",
        "https://coc.myhuaweicloud.com/v1/schedule/task/ST2024010100000000000000a1/enable?x=1",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    return next(HuaweiSigner(credentials(key), domain_id, clock=lambda: at).auth_flow(request))


def check(request: httpx.Request, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> Key:
    arrived = {name.lower(): value for name, value in request.headers.items()}
    arrived.update(headers or {})
    return verify(
        request.method,
        request.url.raw_path.split(b"?")[0].decode(),
        request.url.query,
        arrived,
        request.content if body is None else body,
        keyring(),
        now=NOW,
    )


@pytest.mark.parametrize("key", [PERMANENT, TEMPORARY])
def test_a_well_signed_request_is_accepted(key: Key) -> None:
    assert check(signed(key)) == key


def test_a_changed_body_is_refused() -> None:
    with pytest.raises(SignatureRejected, match="signature fail"):
        check(signed(PERMANENT), body=b'{"a":2}')


def test_a_changed_signed_header_is_refused() -> None:
    with pytest.raises(SignatureRejected, match="signature fail"):
        check(signed(PERMANENT), headers={"content-type": "application/json;charset=utf-8"})


def test_an_unknown_access_key_is_refused() -> None:
    stranger = Key("UNKNOWNAK00000000001", "whatever", DOMAIN)

    with pytest.raises(SignatureRejected, match="ak not exist"):
        check(signed(stranger))


@pytest.mark.parametrize("skew", [timedelta(minutes=16), -timedelta(minutes=16)])
def test_a_date_beyond_fifteen_minutes_is_refused(skew: timedelta) -> None:
    with pytest.raises(SignatureRejected, match="expired"):
        check(signed(PERMANENT, at=NOW + skew))


def test_a_date_within_fifteen_minutes_is_accepted() -> None:
    assert check(signed(PERMANENT, at=NOW - timedelta(minutes=14))) == PERMANENT


def test_a_missing_domain_is_refused() -> None:
    with pytest.raises(SignatureRejected, match="X-Domain-Id"):
        check(signed(PERMANENT, domain_id=None))


def test_another_domain_is_refused() -> None:
    with pytest.raises(SignatureRejected, match="X-Domain-Id"):
        check(signed(PERMANENT, domain_id="fedcba9876543210fedcba9876543210"))


def test_a_temporary_key_without_its_token_is_refused() -> None:
    tokenless = Key(TEMPORARY.access_key, TEMPORARY.secret_key, DOMAIN)

    with pytest.raises(SignatureRejected, match="X-Security-Token"):
        check(signed(tokenless))


def test_an_expired_temporary_key_is_refused() -> None:
    request = signed(TEMPORARY)
    arrived = {name.lower(): value for name, value in request.headers.items()}

    with pytest.raises(SignatureRejected, match="expired"):
        verify(
            "POST",
            request.url.path,
            request.url.query,
            arrived,
            request.content,
            keyring(),
            now=NOW + timedelta(hours=2),
        )


def test_refusal_reads_as_the_gateways_error() -> None:
    with pytest.raises(SignatureRejected) as refused:
        check(signed(PERMANENT), body=b"tampered")

    assert refused.value.error_code == "APIGW.0301"
    assert refused.value.error_msg.startswith("Incorrect IAM authentication information")
