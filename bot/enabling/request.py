"""What one validated submission asks for."""

from __future__ import annotations

from dataclasses import dataclass

from bot.audit.store import Attempt
from bot.coc.tasks import Ticket
from bot.identities.model import Identity
from bot.slack.delivery import Audience


@dataclass(frozen=True)
class EnableRequest:
    slack_team: str
    slack_user: str
    channel_id: str
    response_url: str | None
    task_id: str
    tickets: tuple[Ticket, ...]
    identity: Identity
    submission_key: str | None
    """Slack's view ID of the submitted modal: the same submission delivered twice shares it."""

    @property
    def audience(self) -> Audience:
        return Audience(self.channel_id, self.slack_user, self.response_url)

    def attempt(self) -> Attempt:
        return Attempt(
            slack_team=self.slack_team,
            slack_user=self.slack_user,
            channel=self.channel_id,
            identity=self.identity.name,
            task_id=self.task_id,
            tickets=self.tickets,
            submission_key=self.submission_key,
        )
