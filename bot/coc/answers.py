"""Reading COC's answers: error bodies, request IDs, and the error codes the bot knows.

COC answers an error as ``{"error_code": "COC.…", "error_msg": "…"}`` with the HTTP
status; the API gateway in front of it answers its own as ``{"error_code": "APIGW.…"
(or "APIG.…"), "error_msg": "…", "request_id": "…"}``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from bot.errors import CocError, CocUnavailable

ALREADY_ENABLED = "COC.00014110"
TASK_NOT_FOUND = "COC.00014102"
OTHER_ACCOUNT = "COC.00014121"
THROTTLED = frozenset({"APIG.0308", "APIGW.0308"})

# The gateway's codes for a request whose AK/SK signature, temporary credentials or
# token it refused (APIG.* in older regions, APIGW.* in newer ones).
CREDENTIALS_REJECTED = frozenset(
    {
        "APIG.0301",  # Incorrect IAM authentication information (signature, AK, expired token)
        "APIGW.0301",
        "APIG.0305",  # Incorrect authentication information
        "APIGW.0305",
        "APIG.0307",  # The token must be updated
        "APIGW.0307",
    }
)

PERMISSION_DENIED = frozenset({"APIG.0302", "APIGW.0302"})
"""The gateway's codes for an identity whose IAM policy does not allow the call."""

_EXCERPT = 120


def credentials_rejected(error: CocError) -> bool:
    """Whether the gateway refused the credentials, so fresh temporary ones may help."""
    return error.error_code in CREDENTIALS_REJECTED


def excerpt(content: bytes) -> str:
    """A short, printable start of a body, safe for a log line or an exception."""
    text = content[:_EXCERPT].decode("utf-8", errors="replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text + ("…" if len(content) > _EXCERPT else "")


def request_id(response: httpx.Response, body: object = None) -> str | None:
    """COC's request ID from the ``X-Request-Id`` header, else from a gateway error body."""
    header: str | None = response.headers.get("x-request-id")
    if header:
        return header
    value = body.get("request_id") if isinstance(body, dict) else None
    return str(value) if isinstance(value, str) else None


def parse_json(response: httpx.Response) -> Any:
    """The decoded body, or ``None`` when it is not JSON."""
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def raise_for_answer(
    response: httpx.Response, body: Any, *, attempts: int = 1, earlier_may_have_acted: bool = False
) -> None:
    """Raise :class:`CocError` for a coded error, :class:`CocUnavailable` for an unreadable one.

    A 2xx answer passes whatever its body; shape checks belong to each call. The error
    carries ``attempts``, since "already enabled" on a retry means the first try worked.
    """
    if response.is_success:
        return
    status = response.status_code
    if isinstance(body, dict) and isinstance(body.get("error_code"), str):
        message = body.get("error_msg")
        raise CocError(
            status,
            str(body["error_code"]),
            message if isinstance(message, str) else "",
            request_id(response, body),
            attempts=attempts,
            earlier_may_have_acted=earlier_may_have_acted,
        )
    raise CocUnavailable(
        f"COC answered HTTP {status} without an error code: {excerpt(response.content)!r}",
        may_have_acted=True,
        status=status,
    )


def unexpected(response: httpx.Response, expected: str) -> CocUnavailable:
    """The error for a 2xx answer whose body is not the shape COC documents."""
    return CocUnavailable(
        f"COC answered HTTP {response.status_code} but not with {expected}: {excerpt(response.content)!r}",
        may_have_acted=True,
        status=response.status_code,
    )
