"""Huawei Cloud's ``SDK-HMAC-SHA256`` request signing, as an :class:`httpx.Auth`.

The pure functions build each piece the way Huawei's own SDK does, so that a gateway
recomputing the signature from what arrived gets the same bytes:

- :func:`canonical_uri`, :func:`canonical_query`, :func:`canonical_headers`,
  :func:`payload_hash` and :func:`canonical_request`;
- :func:`string_to_sign` and :func:`signature`;
- :func:`authorization`, which puts them together.

:class:`HuaweiSigner` applies them to an outgoing :class:`httpx.Request`. It rewrites the
query string into its canonical form before signing, as the SDK does, so the bytes on the
wire are the bytes that were signed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Generator, Iterable, Mapping
from datetime import UTC, datetime
from urllib.parse import quote, unquote, unquote_plus

import httpx

from bot.identities.credentials import Credentials

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_HASH = hashlib.sha256(b"").hexdigest()

SDK_DATE = "x-sdk-date"
DOMAIN_ID = "x-domain-id"
SECURITY_TOKEN = "x-security-token"  # noqa: S105  a header name, not a secret
CONTENT_SHA256 = "x-sdk-content-sha256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

# Huawei's gateways hash the body of JSON and BSON requests and take every other
# content type as an unsigned payload, announced in a signed header.
_HASHED_CONTENT_TYPES = ("application/json", "application/bson")


def _encode(value: str) -> str:
    return quote(value, safe="~")


def canonical_uri(raw_path: str) -> str:
    """Each path segment decoded, then percent-encoded; always ending in ``/``.

    Decoding first makes the result the same however the path was encoded on the way.
    """
    path = "/".join(_encode(segment) for segment in unquote(raw_path).split("/"))
    return path if path.endswith("/") else path + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Pairs sorted by decoded name then value, both percent-encoded, joined by ``&``."""
    return "&".join(f"{_encode(name)}={_encode(value)}" for name, value in sorted(pairs))


def parse_query(raw_query: str | bytes, *, plus_is_space: bool = False) -> list[tuple[str, str]]:
    """Decoded (name, value) pairs of a raw query string, keeping repeats and empty values.

    ``plus_is_space`` reads ``+`` as a space, as httpx writes a space in ``params``.
    """
    text = raw_query.decode("ascii") if isinstance(raw_query, bytes) else raw_query
    decode = unquote_plus if plus_is_space else unquote
    pairs = []
    for item in text.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((decode(name), decode(value)))
    return pairs


def signable(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers a signature can cover: lower-cased names, trimmed values.

    Names holding ``_`` are left out, as the SDK and the gateways leave them out.
    """
    return {name.lower(): value.strip() for name, value in headers.items() if "_" not in name}


def canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """The canonical header block and the ``SignedHeaders`` list for ``headers``."""
    normalized = signable(headers)
    names = sorted(normalized)
    block = "".join(f"{name}:{normalized[name]}\n" for name in names)
    return block, ";".join(names)


def payload_hash(body: bytes, headers: Mapping[str, str]) -> str:
    if not body:
        return EMPTY_BODY_HASH
    announced = signable(headers).get(CONTENT_SHA256)
    if announced:
        return announced
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> str:
    """The canonical request for the headers to be signed, exactly those in ``headers``."""
    block, signed = canonical_headers(headers)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(query),
            block,
            signed,
            payload_hash(body, headers),
        ]
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(secret_key: str, to_sign: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(
    access_key: str,
    secret_key: str,
    *,
    method: str,
    raw_path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
) -> str:
    """The ``Authorization`` value signing ``headers``, which must hold ``X-Sdk-Date``."""
    sdk_date = signable(headers).get(SDK_DATE)
    if not sdk_date:
        raise ValueError("the headers to sign need an X-Sdk-Date value such as 20240101T000000Z")
    canonical = canonical_request(method, raw_path, query, headers, body)
    _, signed = canonical_headers(headers)
    sig = signature(secret_key, string_to_sign(canonical, sdk_date))
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={signed}, Signature={sig}"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HuaweiSigner(httpx.Auth):
    """Signs each request with one identity's credentials; no I/O.

    Sets ``X-Sdk-Date`` afresh on every send, so a retried request carries a current
    date, and signs ``host``, ``x-sdk-date``, ``content-type`` (when present),
    ``x-domain-id`` (when given) and ``x-security-token`` (for temporary credentials),
    plus ``x-sdk-content-sha256`` for a body that is neither JSON nor BSON.
    """

    requires_request_body = True

    def __init__(
        self,
        credentials: Credentials,
        domain_id: str | None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._access_key = credentials.access_key
        self._secret_key = credentials.secret_key
        self._security_token = credentials.security_token
        self._domain_id = domain_id
        self._clock = clock or _utc_now

    def __repr__(self) -> str:
        token = ", temporary" if self._security_token is not None else ""
        return f"HuaweiSigner(access_key={self._access_key!r}, domain_id={self._domain_id!r}{token})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.sign(request)
        yield request

    def sign(self, request: httpx.Request) -> None:
        """Set the signing headers and ``Authorization`` on ``request`` in place."""
        now = self._clock()
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
        request.headers["X-Sdk-Date"] = now.strftime(DATE_FORMAT)
        if self._domain_id:
            request.headers["X-Domain-Id"] = self._domain_id
        if self._security_token is not None:
            request.headers["X-Security-Token"] = self._security_token.get_secret_value()
        content_type = request.headers.get("content-type")
        if content_type and not content_type.startswith(_HASHED_CONTENT_TYPES):
            request.headers["X-Sdk-Content-Sha256"] = UNSIGNED_PAYLOAD

        query = parse_query(request.url.query, plus_is_space=True)
        canonical = canonical_query(query)
        request.url = request.url.copy_with(query=canonical.encode("ascii") if canonical else None)

        names = [
            name
            for name in ("host", SDK_DATE, "content-type", DOMAIN_ID, SECURITY_TOKEN, CONTENT_SHA256)
            if name in request.headers
        ]
        to_sign = {name: request.headers[name].strip() for name in names}
        # The trimmed values are what was signed, so they are what is sent.
        for name, value in to_sign.items():
            request.headers[name] = value
        request.headers["Authorization"] = authorization(
            self._access_key,
            self._secret_key.get_secret_value(),
            method=request.method,
            raw_path=request.url.raw_path.split(b"?", 1)[0].decode("ascii"),
            query=query,
            headers=to_sign,
            body=request.content,
        )
