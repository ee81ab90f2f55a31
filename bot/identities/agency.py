"""Temporary credentials for an agency identity, from IAM's ``assume_role``.

IAM is a global service: the request is signed with the source identity's permanent keys
and carries the source's account as ``X-Domain-Id``. The answer's secret key and security
token are wrapped in :class:`SecretStr` at once and the answer body is never logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import SecretStr

from bot.coc.signing import HuaweiSigner
from bot.errors import CredentialsError
from bot.identities.credentials import Credentials
from bot.identities.model import AgencyIdentity, KeyIdentity
from bot.retry import send

logger = logging.getLogger(__name__)

SECURITY_TOKENS_PATH = "/v3.0/OS-CREDENTIAL/securitytokens"

_SESSION_PREFIX = "slack-"
_SESSION_MAX = 32
_SESSION_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def session_user_name(slack_user_id: str) -> str:
    """The ``session_user.name`` IAM records for a Slack user, e.g. ``slack-U012ABCDEF``.

    IAM accepts 5 to 32 letters, digits, ``-`` and ``_``, starting with a letter. The prefix
    guarantees the start and the minimum; an ID that had to be cleaned or cut gets a short
    digest of the original so that two such IDs stay apart in IAM's trace.
    """
    cleaned = _SESSION_UNSAFE.sub("_", slack_user_id)
    name = _SESSION_PREFIX + cleaned
    if cleaned == slack_user_id and len(name) <= _SESSION_MAX:
        return name
    digest = hashlib.sha256(slack_user_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{name[: _SESSION_MAX - len(digest) - 1]}-{digest}"


def assume_role_body(identity: AgencyIdentity, session_user: str) -> dict[str, Any]:
    """The ``securitytokens`` request body that assumes ``identity``'s agency."""
    assume_role: dict[str, Any] = {
        "agency_name": identity.agency_name,
        "duration_seconds": identity.duration_seconds,
        "session_user": {"name": session_user},
    }
    if identity.agency_domain_id is not None:
        assume_role["domain_id"] = identity.agency_domain_id
    else:
        assume_role["domain_name"] = identity.agency_domain_name
    return {"auth": {"identity": {"methods": ["assume_role"], "assume_role": assume_role}}}


async def assume_agency(
    http: httpx.AsyncClient,
    iam_endpoint: str,
    identity: AgencyIdentity,
    source: KeyIdentity,
    slack_user_id: str,
    *,
    retries: int,
) -> Credentials:
    """Ask IAM for temporary credentials of ``identity``'s agency on behalf of a Slack user.

    Raises :class:`CredentialsError` naming the identity and what IAM said.
    """
    session_user = session_user_name(slack_user_id)
    request = http.build_request(
        "POST",
        iam_endpoint.rstrip("/") + SECURITY_TOKENS_PATH,
        json=assume_role_body(identity, session_user),
    )
    signer = HuaweiSigner(Credentials(source.access_key, source.secret_key), source.domain_id)

    try:
        # A second assume_role only issues a second set of temporary credentials: harmless.
        response = await send(http, request, retries=retries, auth=signer, retry_broken=True)
    except httpx.TimeoutException as exc:
        raise CredentialsError(
            identity.name, f"IAM at {iam_endpoint} did not answer in time ({type(exc).__name__})"
        ) from exc
    except httpx.TransportError as exc:
        raise CredentialsError(
            identity.name, f"IAM at {iam_endpoint} could not be reached ({type(exc).__name__}: {exc})"
        ) from exc

    credentials = parse_credentials(identity.name, response)
    logger.info(
        "IAM issued temporary key %s for identity %s (agency %s) as %s, expiring %s",
        credentials.access_key,
        identity.name,
        identity.agency_name,
        session_user,
        credentials.expires_at.isoformat() if credentials.expires_at else "never",
    )
    return credentials


def parse_credentials(identity_name: str, response: httpx.Response) -> Credentials:
    """Turn IAM's answer into :class:`Credentials`, or raise :class:`CredentialsError`."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CredentialsError(
            identity_name,
            f"IAM answered HTTP {response.status_code} with a body that is not JSON "
            f"({response.headers.get('content-type', 'no content type')})",
        ) from exc

    if response.status_code not in (200, 201):
        code, message = _error_of(body)
        said = f"{code}: {message}" if code else message
        verb = "refused" if response.status_code < 500 else "failed"
        raise CredentialsError(identity_name, f"IAM {verb} with HTTP {response.status_code} {said}", code=code)

    credential = body.get("credential") if isinstance(body, dict) else None
    if not isinstance(credential, dict):
        raise CredentialsError(identity_name, "IAM's answer has no credential object")
    fields: dict[str, str] = {}
    for field in ("access", "secret", "securitytoken", "expires_at"):
        value = credential.get(field)
        if not isinstance(value, str) or not value:
            raise CredentialsError(identity_name, f"IAM's answer lacks credential.{field}")
        fields[field] = value

    try:
        expires_at = datetime.fromisoformat(fields["expires_at"])
    except ValueError as exc:
        raise CredentialsError(
            identity_name, f"IAM's expires_at {fields['expires_at'][:40]!r} is not an ISO 8601 time"
        ) from exc
    if expires_at.tzinfo is None:
        # IAM writes UTC with a trailing Z; a bare time is read the same way.
        expires_at = expires_at.replace(tzinfo=UTC)

    return Credentials(
        access_key=fields["access"],
        secret_key=SecretStr(fields["secret"]),
        security_token=SecretStr(fields["securitytoken"]),
        expires_at=expires_at,
    )


def _error_of(body: object) -> tuple[str | None, str]:
    """IAM's error code and message, from either of the two shapes IAM answers with."""
    if isinstance(body, dict):
        nested = body.get("error")
        if isinstance(nested, dict):
            code = nested.get("code")
            message = nested.get("message") or nested.get("title") or "no message"
            return (None if code is None else str(code)), str(message)
        if "error_code" in body or "error_msg" in body:
            code = body.get("error_code")
            return (None if code is None else str(code)), str(body.get("error_msg") or "no message")
    return None, "an error in an unknown shape"
