"""The enable modal: its "Add ticket" button and its submission."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.audit.store import Attempt
from bot.enabling.request import EnableRequest
from bot.identities.resolver import Refused, Resolved
from bot.slack import blocks
from bot.slack.api import SLACK_UNREACHABLE, api_error
from bot.slack.context import ListenerContext
from bot.slack.form import EnableForm, read_form, ticket_values
from bot.slack.metadata import BadMetadata, ModalOrigin
from bot.slack.refusals import record_refusal, refusal_inline

log = logging.getLogger(__name__)


def _values(view: dict[str, Any]) -> dict[str, Any]:
    state = view.get("state") or {}
    values = state.get("values") if isinstance(state, dict) else None
    return values if isinstance(values, dict) else {}


def register(app: AsyncApp, ctx: ListenerContext) -> None:
    @app.action(blocks.ADD_TICKET)
    async def add_ticket(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()

        view = body.get("view") or {}
        try:
            origin = ModalOrigin.decode(view.get("private_metadata"))
        except BadMetadata:
            log.warning("add ticket on a view without this bot's metadata")
            return
        user_id = str((body.get("user") or {}).get("id", ""))
        resolution = await ctx.resolver.resolve(user_id, origin.channel_id)
        if not isinstance(resolution, Resolved):
            return
        values = _values(view)
        rows = min(origin.ticket_rows + 1, messages.MAX_TICKETS)
        grown = ModalOrigin(origin.channel_id, origin.response_url, rows)
        task_value = values.get(blocks.TASK_BLOCK, {}).get(blocks.TASK_INPUT, {}).get("value")
        updated = blocks.enable_modal(
            identity=resolution.identity.name,
            metadata=grown.encode(),
            task_id=task_value,
            ticket_rows=rows,
            require_ticket=resolution.identity.guardrails.require_ticket,
            tickets=ticket_values(values, origin.ticket_rows),
        )

        try:
            await client.views_update(view_id=view.get("id", ""), hash=view.get("hash"), view=updated)
        except SdkApiError as exc:
            # hash_conflict means the user changed the view meanwhile; their newer view stands.
            log.warning("views.update failed: %s", api_error(exc))
        except SLACK_UNREACHABLE as exc:
            log.warning("views.update failed: %s", type(exc).__name__)

    @app.view(blocks.ENABLE_MODAL)
    async def submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        user = body.get("user") or {}
        user_id = str(user.get("id", ""))
        team_id = str((body.get("team") or {}).get("id") or user.get("team_id") or "")
        try:
            origin = ModalOrigin.decode(view.get("private_metadata"))
        except BadMetadata:
            log.warning("submission of a view without this bot's metadata from %s", user_id)
            await ack(response_action="errors", errors={blocks.TASK_BLOCK: messages.STALE_FORM})
            return
        form = read_form(_values(view), origin.ticket_rows)
        resolution = await ctx.resolver.resolve(user_id, origin.channel_id)
        _check_identity(form, resolution, user_id)
        if not form.valid:
            log.info("submission from %s refused inline: %s", user_id, ", ".join(sorted(form.errors)))
            await ack(response_action="errors", errors=form.errors)
            if isinstance(resolution, Refused) and form.task_id:
                attempt = Attempt(
                    slack_team=team_id,
                    slack_user=user_id,
                    channel=origin.channel_id,
                    identity=resolution.identity,
                    task_id=form.task_id,
                    tickets=tuple(form.tickets),
                    submission_key=None,
                )
                await record_refusal(ctx.store, attempt, resolution)
            return
        if not ctx.service.accepting:
            await ack(response_action="errors", errors={blocks.TASK_BLOCK: messages.SHUTTING_DOWN})
            return
        assert isinstance(resolution, Resolved) and form.task_id is not None

        await ack()

        log.info("submission from %s accepted: task %s as %s", user_id, form.task_id, resolution.identity.name)
        ctx.service.submit(
            EnableRequest(
                slack_team=team_id,
                slack_user=user_id,
                channel_id=origin.channel_id,
                response_url=origin.response_url,
                task_id=form.task_id,
                tickets=tuple(form.tickets),
                identity=resolution.identity,
                submission_key=str(view.get("id") or "") or None,
            )
        )


def _check_identity(form: EnableForm, resolution: Resolved | Refused, user_id: str) -> None:
    if isinstance(resolution, Refused):
        form.errors.setdefault(blocks.TASK_BLOCK, refusal_inline(resolution, user_id))
        return
    identity = resolution.identity
    if identity.guardrails.require_ticket and not form.tickets:
        first_ticket = blocks.ticket_block_id(blocks.TICKET_ID_INPUT, 0)
        form.errors.setdefault(first_ticket, messages.TICKET_REQUIRED.format(identity=identity.name))
