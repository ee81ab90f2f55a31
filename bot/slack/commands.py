"""The ``/enable-schedule`` slash command: help, history, or the enable modal."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.audit.store import Attempt
from bot.coc.tasks import InvalidTaskId, is_task_id, parse_task_id
from bot.identities.resolver import Refused, Resolved
from bot.slack import blocks, history
from bot.slack.api import SLACK_UNREACHABLE, api_error
from bot.slack.context import ListenerContext
from bot.slack.escape import code
from bot.slack.metadata import ModalOrigin
from bot.slack.refusals import record_refusal, refusal_text

log = logging.getLogger(__name__)

ENABLE_COMMAND = messages.COMMAND
_TRIGGER_GONE = frozenset({"expired_trigger_id", "exchanged_trigger_id"})


def register(app: AsyncApp, ctx: ListenerContext) -> None:
    @app.command(ENABLE_COMMAND)
    async def enable_schedule(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        text = str(command.get("text") or "").strip()
        words = text.split()
        user_id, channel_id = str(command.get("user_id", "")), str(command.get("channel_id", ""))
        log.info("command from %s in %s: %s", user_id, channel_id, words[0] if words else "(modal)")

        if words and words[0].lower() == "help":
            await ack(text=messages.HELP, response_type="ephemeral")
            return
        if words and words[0].lower() == "history":
            await ack()
            task_id = words[1] if len(words) > 1 and is_task_id(words[1]) else None
            text = await history.channel_history(ctx.store, channel_id, task_id)
            try:
                await respond(text=text, response_type="ephemeral")
            except SLACK_UNREACHABLE as exc:
                log.warning("could not show history to %s: %s", user_id, type(exc).__name__)
            return
        prefill = words[0] if words else None
        if prefill is not None and not (prefill.upper().startswith("ST") and len(words) == 1):
            await ack(text=messages.UNKNOWN_SUBCOMMAND.format(text=code(text[:80])), response_type="ephemeral")
            return
        if prefill is not None:
            try:
                prefill = parse_task_id(prefill)
            except InvalidTaskId as exc:
                await ack(text=messages.invalid_task_id(exc.problem), response_type="ephemeral")
                return
        if not ctx.service.accepting:
            await ack(text=messages.SHUTTING_DOWN, response_type="ephemeral")
            return

        resolution = await ctx.resolver.resolve(user_id, channel_id)
        if isinstance(resolution, Refused):
            await ack(text=refusal_text(resolution, user_id), response_type="ephemeral")
            if prefill:
                attempt = Attempt(
                    slack_team=str(command.get("team_id", "")),
                    slack_user=user_id,
                    channel=channel_id,
                    identity=resolution.identity,
                    task_id=prefill,
                    tickets=(),
                    submission_key=None,
                )
                await record_refusal(ctx.store, attempt, resolution)
            return
        assert isinstance(resolution, Resolved)

        await ack()

        origin = ModalOrigin(channel_id, command.get("response_url"), ticket_rows=1)
        view = blocks.enable_modal(
            identity=resolution.identity.name,
            metadata=origin.encode(),
            task_id=prefill,
            ticket_rows=1,
            require_ticket=resolution.identity.guardrails.require_ticket,
        )
        try:
            await client.views_open(trigger_id=command.get("trigger_id", ""), view=view)
        except (SdkApiError, *SLACK_UNREACHABLE) as exc:
            error = api_error(exc) if isinstance(exc, SdkApiError) else type(exc).__name__
            log.warning("views.open failed: %s", error)
            reply = messages.TRIGGER_EXPIRED if error in _TRIGGER_GONE else messages.MODAL_FAILED.format(error=error)
            try:
                await respond(text=reply, response_type="ephemeral")
            except SLACK_UNREACHABLE as exc:
                log.warning("could not tell %s that the form did not open: %s", user_id, type(exc).__name__)
