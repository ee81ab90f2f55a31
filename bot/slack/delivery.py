"""Getting a message to the people who asked, even where the bot cannot post.

An outcome goes to the channel. Where Slack refuses that (the bot is not in the channel, it
was deleted or archived), it reaches the user through the command's ``response_url``, and
failing that as a direct message from the app.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.api import SLACK_UNREACHABLE, api_error
from bot.slack.blocks import message

log = logging.getLogger(__name__)

UNREACHABLE_CHANNEL = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "ekm_access_denied"}
)


@dataclass(frozen=True)
class Audience:
    """Who an outcome is for: the channel it was asked in and the user who asked."""

    channel_id: str
    user_id: str
    response_url: str | None = None


class Delivery:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def to_channel(self, audience: Audience, text: str) -> str:
        """Post ``text`` in the channel, falling back to the user alone; returns where it went."""
        try:
            await self._client.chat_postMessage(channel=audience.channel_id, **message(text))
        except SdkApiError as exc:
            error = api_error(exc)
            if error not in UNREACHABLE_CHANNEL:
                log.error("chat.postMessage to %s failed: %s", audience.channel_id, error)
            else:
                log.warning("cannot post in %s (%s); telling the user directly", audience.channel_id, error)
            return await self.to_user(audience, text, channel_failed=True)
        except SLACK_UNREACHABLE as exc:
            log.error("Slack unreachable posting in %s: %s", audience.channel_id, type(exc).__name__)
            return await self.to_user(audience, text, channel_failed=True)
        log.info("outcome posted in %s", audience.channel_id)
        return "channel"

    async def to_user(self, audience: Audience, text: str, *, channel_failed: bool = False) -> str:
        """Show ``text`` to the user alone: response_url, else ephemeral, else a direct message."""
        if audience.response_url and await self._via_response_url(audience.response_url, text):
            return "response_url"
        if not channel_failed:
            try:
                await self._client.chat_postEphemeral(
                    channel=audience.channel_id, user=audience.user_id, **message(text)
                )
            except SdkApiError as exc:
                log.warning("chat.postEphemeral in %s failed: %s", audience.channel_id, api_error(exc))
            except SLACK_UNREACHABLE as exc:
                log.warning("chat.postEphemeral in %s failed: %s", audience.channel_id, type(exc).__name__)
            else:
                return "ephemeral"
        try:
            await self._client.chat_postMessage(channel=audience.user_id, **message(text))
        except SdkApiError as exc:
            log.error("could not reach user %s at all: %s", audience.user_id, api_error(exc))
            return "nowhere"
        except SLACK_UNREACHABLE as exc:
            log.error("could not reach user %s at all: %s", audience.user_id, type(exc).__name__)
            return "nowhere"
        return "direct_message"

    async def _via_response_url(self, response_url: str, text: str) -> bool:
        webhook = AsyncWebhookClient(
            response_url, session=self._client.session, retry_handlers=self._client.retry_handlers
        )
        try:
            response = await webhook.send(response_type="ephemeral", replace_original=False, **message(text))
        except Exception as exc:  # any transport failure means "try the next way"
            log.warning("response_url post failed: %s", type(exc).__name__)
            return False
        if response.status_code != 200:
            log.warning("response_url answered HTTP %s", response.status_code)
            return False
        return True
