"""What one enable attempt ended in, for the audit record and for the people in Slack."""

from __future__ import annotations

from dataclasses import dataclass

from bot import messages
from bot.audit.store import Outcome
from bot.enabling.request import EnableRequest
from bot.errors import CocError, CocUnavailable, CredentialsError


@dataclass(frozen=True)
class AttemptOutcome:
    outcome: Outcome
    text: str
    """The message for the channel."""
    error_code: str | None = None
    error_msg: str | None = None
    request_id: str | None = None
    note: str | None = None


def enabled(request: EnableRequest, request_id: str | None, *, note: str | None = None) -> AttemptOutcome:
    text = messages.enabled(request.slack_user, request.identity.name, request.task_id, request.tickets, note)
    return AttemptOutcome(Outcome.ENABLED, text, request_id=request_id, note=note)


def coc_refused(request: EnableRequest, exc: CocError) -> AttemptOutcome:
    text = messages.coc_failed(
        request.slack_user,
        request.identity.name,
        request.task_id,
        exc.error_code,
        exc.error_msg,
        messages.hint(exc.error_code, exc.status),
    )
    return AttemptOutcome(Outcome.FAILED, text, exc.error_code, exc.error_msg, exc.request_id)


def coc_unreachable(request: EnableRequest, exc: CocUnavailable) -> AttemptOutcome:
    text = messages.coc_unavailable(
        request.slack_user, request.identity.name, request.task_id, exc.reason, exc.may_have_acted
    )
    outcome = Outcome.UNKNOWN if exc.may_have_acted else Outcome.FAILED
    return AttemptOutcome(outcome, text, error_code=None, error_msg=exc.reason)


def no_credentials(request: EnableRequest, exc: CredentialsError) -> AttemptOutcome:
    text = messages.credentials_failed(request.slack_user, request.identity.name, request.task_id, exc.reason)
    return AttemptOutcome(Outcome.FAILED, text, error_code=exc.code or "IAM", error_msg=exc.reason)
