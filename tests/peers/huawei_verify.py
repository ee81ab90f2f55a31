"""Check an arriving request's Huawei Cloud signature the way a gateway would.

The signature is recomputed with Huawei's own SDK signer from what arrived: the raw path
and query, and only the headers the client listed in ``SignedHeaders``. Shared by the
COC and IAM peers, so nothing here is specific to one service.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from urllib.parse import unquote

from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from tests.peers.keyring import Key, Keyring

MAX_SKEW = timedelta(minutes=15)
_AUTHORIZATION = re.compile(
    r"SDK-HMAC-SHA256 Access=(?P<access>[^,\s]+), SignedHeaders=(?P<signed>[^,\s]+), Signature=(?P<sig>[0-9a-f]+)"
)


class SignatureRejected(Exception):
    """The request's authentication failed; ``error_code`` and ``error_msg`` as a gateway says."""

    def __init__(self, detail: str, error_code: str = "APIGW.0301") -> None:
        super().__init__(detail)
        self.detail = detail
        self.error_code = error_code
        self.error_msg = f"Incorrect IAM authentication information: {detail}"


def query_pairs(raw_query: str | bytes) -> list[tuple[str, str]]:
    text = raw_query.decode("ascii") if isinstance(raw_query, bytes) else raw_query
    pairs = []
    for item in text.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def expected_authorization(
    key: Key,
    method: str,
    raw_path: str,
    raw_query: str | bytes,
    signed: Mapping[str, str],
    body: bytes,
) -> str:
    """What Huawei's SDK signer writes for this request and these signed headers."""
    request = SdkRequest(
        method=method,
        schema="https",
        host=signed.get("host", ""),
        resource_path=raw_path,
        query_params=query_pairs(raw_query),
        header_params=dict(signed),
        body=body,
    )
    Signer(SimpleNamespace(ak=key.access_key, sk=key.secret_key)).sign(request)
    return str(request.header_params["Authorization"])


def verify(
    method: str,
    raw_path: str,
    raw_query: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    keyring: Keyring,
    *,
    now: datetime | None = None,
    require_domain: bool = True,
) -> Key:
    """Return the key that signed the request, or raise :class:`SignatureRejected`.

    ``headers`` are the arriving headers with lower-case names.
    """
    now = now or datetime.now(UTC)
    match = _AUTHORIZATION.fullmatch(headers.get("authorization", "").strip())
    if match is None:
        raise SignatureRejected("no SDK-HMAC-SHA256 Authorization header")
    key = keyring.get(match["access"])
    if key is None:
        raise SignatureRejected(f"Get secretKey failed,ak:{match['access']},err:ak not exist")
    if key.expired(now):
        raise SignatureRejected("the temporary credentials have expired")

    names = match["signed"].split(";")
    missing = [name for name in names if name not in headers]
    if missing:
        raise SignatureRejected(f"signed headers not sent: {', '.join(missing)}")
    for required in ("host", "x-sdk-date"):
        if required not in names:
            raise SignatureRejected(f"{required} is not signed")
    try:
        signed_at = datetime.strptime(headers["x-sdk-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRejected(f"bad X-Sdk-Date {headers['x-sdk-date']!r}") from None
    if abs(now - signed_at) > MAX_SKEW:
        raise SignatureRejected(f"signature expired, signature time:{headers['x-sdk-date']}")

    if require_domain:
        if "x-domain-id" not in names:
            raise SignatureRejected("X-Domain-Id is missing or not signed")
        if headers["x-domain-id"] != key.domain_id:
            raise SignatureRejected("X-Domain-Id does not match the key's account")
    if key.security_token is not None:
        if "x-security-token" not in names:
            raise SignatureRejected("X-Security-Token is missing or not signed")
        if not hmac.compare_digest(headers["x-security-token"].encode(), key.security_token.encode()):
            raise SignatureRejected("X-Security-Token does not belong to the key")

    signed = {name: headers[name] for name in names}
    expected = expected_authorization(key, method, raw_path, raw_query, signed, body)
    if not hmac.compare_digest(expected.encode(), headers["authorization"].strip().encode()):
        raise SignatureRejected("verify aksk signature fail")
    return key
