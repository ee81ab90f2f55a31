"""A loopback stand-in for IAM's ``POST /v3.0/OS-CREDENTIAL/securitytokens`` (assume_role).

Serve it with ``with IamPeer(keyring).serve() as peer:`` and point the bot at
``IAM_ENDPOINT=peer.url``. Each request's signature is checked against the keyring, the
body is validated as IAM validates it, and the agency must be configured:

- ``peer.add_agency("coc-operator", domain_id, domain_name="ops-sandbox", trusted=source_domain_id)``
  registers an agency under both the account's name and ID; ``peer.agencies[(domain,
  agency_name)] = domain_id`` does the same by hand for one of them, and
  ``peer.trusted[(domain_id, agency_name)] = {source_domain_id}`` limits who may assume it
  (no entry: any signed caller may).

The temporary key it issues is added to the keyring with the agency account's domain ID
and the session user, so a COC peer sharing the keyring accepts exactly what IAM issued.

Knobs a test may set at any time (the peer runs in a background thread):

- ``peer.lifetime_override = timedelta(...)``: issue credentials living this long instead
  of ``duration_seconds``;
- ``peer.delay = seconds``: wait before answering;
- ``peer.refuse(code, message)``, ``peer.fail(status)``, ``peer.answer_non_json()``: the
  next answers (``times``, or until :meth:`clear_faults` when ``times=None``).

Refusals use IAM's codes: IAM.0003 (403) when a policy forbids the action, IAM.0007 (400)
for an invalid request parameter. A missing or untrusted agency, and a 5xx, get the
Keystone-style ``{"error": {"code": <status>, "message", "title"}}`` IAM inherited.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.peers.huawei_verify import SignatureRejected, verify
from tests.peers.keyring import Key, Keyring
from tests.peers.server import serve

SECURITY_TOKENS_PATH = "/v3.0/OS-CREDENTIAL/securitytokens"
MIN_DURATION = 900
MAX_DURATION = 86400
DEFAULT_DURATION = 900
SESSION_USER = re.compile(r"[A-Za-z][A-Za-z0-9_-]{4,31}")
POLICY_REFUSAL = ("IAM.0003", "Policy doesn't allow iam:tokens:assume to be performed.")

_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class IamCall:
    """One request the peer received, with what it answered."""

    access_key: str | None
    """The key that signed it, when the signature was accepted."""
    body: Any
    """The JSON body, or ``None`` when it was not JSON."""
    headers: dict[str, str]
    """Lower-case names; ``authorization`` and ``x-security-token`` are left out."""
    at: float
    status: int


@dataclass
class _Fault:
    status: int
    content: bytes
    content_type: str
    remaining: int | None


@dataclass
class _Answer:
    status: int
    content: bytes
    content_type: str = "application/json"
    issued: Key | None = None


def _json(status: int, body: object) -> _Answer:
    return _Answer(status, json.dumps(body).encode())


def _invalid(parameter: str) -> _Answer:
    return _json(400, {"error_code": "IAM.0007", "error_msg": f"Request parameter {parameter} is invalid."})


_FORBIDDEN = _json(
    403,
    {
        "error": {
            "code": 403,
            "message": "You are not authorized to perform the requested action.",
            "title": "Forbidden",
        }
    },
)


@dataclass
class IamPeer:
    """IAM's assume_role for the agencies a test configures."""

    keyring: Keyring
    agencies: dict[tuple[str, str], str] = field(default_factory=dict)
    """(account name or ID, agency name) to the ID of the account that owns the agency."""
    trusted: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    """(account ID, agency name) to the source account IDs allowed to assume it."""
    lifetime_override: timedelta | None = None
    delay: float = 0.0
    url: str | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[IamCall] = []
        self._issued: list[Key] = []
        self._faults: list[_Fault] = []
        self.app = Starlette(routes=[Route(SECURITY_TOKENS_PATH, self._security_tokens, methods=["POST"])])

    # Serving

    @contextmanager
    def serve(self) -> Iterator[IamPeer]:
        with serve(self.app) as url:
            self.url = url
            try:
                yield self
            finally:
                self.url = None

    # What a test configures

    def add_agency(
        self, agency_name: str, domain_id: str, *, domain_name: str | None = None, trusted: str | None = None
    ) -> None:
        with self._lock:
            self.agencies[(domain_id, agency_name)] = domain_id
            if domain_name is not None:
                self.agencies[(domain_name, agency_name)] = domain_id
            if trusted is not None:
                self.trusted.setdefault((domain_id, agency_name), set()).add(trusted)

    def refuse(
        self,
        code: str = POLICY_REFUSAL[0],
        message: str = POLICY_REFUSAL[1],
        *,
        status: int = 403,
        times: int | None = None,
    ) -> None:
        body = {"error": {"code": code, "message": message}}
        self._add_fault(_Fault(status, json.dumps(body).encode(), "application/json", times))

    def fail(self, status: int = 500, *, times: int | None = 1) -> None:
        message = "An unexpected error prevented the server from fulfilling your request."
        body = {"error": {"code": status, "message": message, "title": "Internal Server Error"}}
        self._add_fault(_Fault(status, json.dumps(body).encode(), "application/json", times))

    def answer_non_json(self, status: int = 201, *, times: int | None = 1) -> None:
        self._add_fault(_Fault(status, b"<html><body>Service Unavailable</body></html>", "text/html", times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # What a test reads back

    def calls(self) -> list[IamCall]:
        with self._lock:
            return list(self._calls)

    def issued(self) -> list[Key]:
        with self._lock:
            return list(self._issued)

    # Serving one request

    async def _security_tokens(self, request: Request) -> Response:
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        if self.delay:
            await asyncio.sleep(self.delay)

        access_key: str | None = None
        try:
            key = verify(
                request.method,
                request.scope["raw_path"].decode("ascii"),
                request.scope["query_string"],
                headers,
                body,
                self.keyring,
            )
        except SignatureRejected as rejected:
            answer = _json(401, {"error_code": rejected.error_code, "error_msg": rejected.error_msg})
        else:
            access_key = key.access_key
            answer = self._fault() or self._assume_role(key, body)

        with self._lock:
            self._calls.append(
                IamCall(
                    access_key=access_key,
                    body=_decoded(body),
                    headers={k: v for k, v in headers.items() if k not in ("authorization", "x-security-token")},
                    at=time.time(),
                    status=answer.status,
                )
            )
            if answer.issued is not None:
                self._issued.append(answer.issued)
        return Response(answer.content, status_code=answer.status, media_type=answer.content_type)

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _fault(self) -> _Answer | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.pop(0)
        return _Answer(fault.status, fault.content, fault.content_type)

    def _assume_role(self, caller: Key, content: bytes) -> _Answer:
        body = _decoded(content)
        identity = _dig(body, "auth", "identity")
        if not isinstance(identity, dict):
            return _invalid("auth.identity")
        if identity.get("methods") != ["assume_role"]:
            return _invalid("auth.identity.methods")
        assume = identity.get("assume_role")
        if not isinstance(assume, dict):
            return _invalid("auth.identity.assume_role")

        agency_name = assume.get("agency_name")
        if not isinstance(agency_name, str) or not agency_name:
            return _invalid("agency_name")
        domains = [assume[name] for name in ("domain_name", "domain_id") if name in assume]
        if len(domains) != 1 or not isinstance(domains[0], str) or not domains[0]:
            return _invalid("domain_id or domain_name")
        duration = assume.get("duration_seconds", DEFAULT_DURATION)
        if type(duration) is not int or not MIN_DURATION <= duration <= MAX_DURATION:
            return _invalid("duration_seconds")
        session_user = assume.get("session_user")
        session_name: str | None = None
        if session_user is not None:
            session_name = session_user.get("name") if isinstance(session_user, dict) else None
            if not isinstance(session_name, str) or not SESSION_USER.fullmatch(session_name):
                return _invalid("session_user.name")

        with self._lock:
            account = self.agencies.get((domains[0], agency_name))
            trusted = self.trusted.get((account, agency_name)) if account else None
            lifetime = self.lifetime_override
        if account is None or (trusted is not None and caller.domain_id not in trusted):
            return _FORBIDDEN

        expires_at = datetime.now(UTC) + (lifetime if lifetime is not None else timedelta(seconds=duration))
        issued = self.keyring.add(
            Key(
                access_key="".join(secrets.choice(_KEY_ALPHABET) for _ in range(20)),
                secret_key=secrets.token_urlsafe(30),
                domain_id=account,
                security_token=secrets.token_urlsafe(96),
                expires_at=expires_at,
                session_user=session_name,
            )
        )
        credential = {
            "access": issued.access_key,
            "secret": issued.secret_key,
            "securitytoken": issued.security_token,
            "expires_at": expires_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        answer = _json(201, {"credential": credential})
        answer.issued = issued
        return answer


def _decoded(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def _dig(body: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body
