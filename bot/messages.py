"""Every text the bot shows a Slack user, in one place.

Texts are mrkdwn. Anything that came from a user, from COC or from IAM goes through
:func:`bot.slack.escape.escape` (or :func:`~bot.slack.escape.code`) before it is put here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.coc import answers
from bot.coc.tasks import Ticket
from bot.slack.escape import code, escape

COMMAND = "/enable-schedule"
MAX_TICKETS = 5

HELP = (
    f"*{COMMAND}* enables a disabled scheduled task in Huawei Cloud COC, acting as the IAM "
    "identity an admin mapped your Slack account to.\n"
    f"• `{COMMAND}` or `{COMMAND} ST…` opens a form for the task ID and up to {MAX_TICKETS} "
    "change-management tickets (type, ticket ID, application ID, region ID).\n"
    f"• `{COMMAND} history [task ID]` shows this channel's recent enables, only to you.\n"
    f"• `{COMMAND} help` shows this text.\n"
    "The outcome is posted in the channel and every attempt is kept in an audit trail."
)

UNKNOWN_SUBCOMMAND = (
    "I did not understand {text}. Use `"
    + COMMAND
    + " ST…` with a task ID, `"
    + COMMAND
    + " history`, or `"
    + COMMAND
    + " help`."
)

# Inline errors in the modal, keyed to the field they belong to.
TASK_ID_REQUIRED = "Enter the scheduled task's ID (26 characters, starting with ST)."
TICKET_TYPE_REQUIRED = "Choose the ticket type for this ticket."
TICKET_ID_REQUIRED = "Enter the ticket ID for this ticket."
TICKET_FIELD_INVALID = "Use 1 to 64 letters, digits, or . _ : - only."
TICKET_REQUIRED = "Identity {identity} is under change control: enter at least one complete ticket."
DUPLICATE_TICKET = "This ticket is already listed above."


def invalid_task_id(problem: str) -> str:
    return f"That is not a COC task ID: {problem}."


def unmapped(user_id: str) -> str:
    return (
        "You are not mapped to a Huawei Cloud identity, so I cannot act for you and nothing was sent "
        f"to COC. Ask an admin of this bot to add your Slack user ID {code(user_id)} (or your email "
        "address) to the identity map."
    )


LOOKUP_FAILED = (
    "Slack did not tell me your email address in time, and I need it to find your Huawei Cloud "
    "identity. Nothing was sent to COC; please try again in a moment."
)
LOOKUP_FAILED_INLINE = "Slack did not tell me your email address in time; please submit again in a moment."


def unmapped_inline(user_id: str) -> str:
    return f"Your Slack user {user_id} is no longer mapped to an identity; ask an admin to add you to the identity map."


def channel_not_allowed(identity: str, allowed: Iterable[str]) -> str:
    channels = ", ".join(f"<#{channel}>" for channel in sorted(allowed))
    return (
        f"Identity *{escape(identity)}* may not be used in this channel, so nothing was sent to COC. "
        f"It may be used in {channels or 'no channel at all'}."
    )


def channel_not_allowed_inline(identity: str) -> str:
    return f"Identity {identity} may not be used in this channel."


TRIGGER_EXPIRED = (
    "Slack's window for opening the form ran out before I could open it. Please run `" + COMMAND + "` again."
)
MODAL_FAILED = "I could not open the form ({error}). Please try again; if it keeps failing, tell the bot's admin."
STORE_DOWN = "I cannot reach my audit store, so I will not enable anything right now. Please tell the bot's admin."
INTERNAL_ERROR = (
    "Something went wrong inside the bot while enabling task `{task_id}`. Check the task in the COC "
    "console before trying again, and tell the bot's admin."
)
STALE_FORM = "This form is out of date. Close it and run the command again."
SHUTTING_DOWN = "I am restarting and not taking new enables for a moment. Please try again in a minute."


def describe_tickets(tickets: Sequence[Ticket]) -> str:
    if not tickets:
        return "no ticket"
    parts = []
    for ticket in tickets:
        extra = []
        if ticket.target_id:
            extra.append(f"application {code(ticket.target_id)}")
        if ticket.scope_id:
            extra.append(f"region {code(ticket.scope_id)}")
        suffix = f" ({', '.join(extra)})" if extra else ""
        parts.append(f"{ticket.ticket_type.value} {code(ticket.ticket_id)}{suffix}")
    return ", ".join(parts)


def _clip(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _who(user_id: str, identity: str, task_id: str) -> str:
    return f"<@{user_id}> · task {code(task_id)} · identity *{escape(identity)}*"


def enabled(user_id: str, identity: str, task_id: str, tickets: Sequence[Ticket], note: str | None = None) -> str:
    text = (
        f":white_check_mark: <@{user_id}> enabled scheduled task {code(task_id)} as identity "
        f"*{escape(identity)}*. Tickets: {describe_tickets(tickets)}."
    )
    return f"{text}\n_{escape(note)}_" if note else text


ALREADY_ENABLED_AFTER_RETRY = 'COC answered "already enabled" to a retry of my own, so the first attempt went through.'

_HINTS: dict[str, str] = {
    answers.ALREADY_ENABLED: "The task is already enabled; nothing changed.",
    answers.TASK_NOT_FOUND: "COC has no scheduled task with this ID. Check the ID in the COC console.",
    answers.OTHER_ACCOUNT: (
        "The task belongs to another Huawei Cloud account than this identity's. Ask an admin which identity owns it."
    ),
}
_CREDENTIALS_HINT = (
    "Huawei Cloud refused this identity's credentials (bad or expired keys, or a clock far off). "
    "Tell the bot's admin; nothing was enabled."
)
_THROTTLED_HINT = "Huawei Cloud is throttling requests. Wait a minute and try again."
_PERMISSION_HINT = "This identity lacks the IAM permission coc:schedule:enable for this task; tell the bot's admin."


def hint(error_code: str, status: int) -> str | None:
    """A plain sentence about a COC or gateway error, where the code or status says enough."""
    if error_code in _HINTS:
        return _HINTS[error_code]
    if error_code in answers.CREDENTIALS_REJECTED or (status == 401 and error_code.startswith("APIG")):
        return _CREDENTIALS_HINT
    if error_code in answers.THROTTLED or status == 429:
        return _THROTTLED_HINT
    if error_code in answers.PERMISSION_DENIED or status == 403:
        return _PERMISSION_HINT
    return None


def coc_failed(user_id: str, identity: str, task_id: str, error_code: str, error_msg: str, hint: str | None) -> str:
    text = (
        f":x: Could not enable the task. {_who(user_id, identity, task_id)}\n"
        f"COC answered {code(error_code)}: {escape(_clip(error_msg))}"
    )
    return f"{text}\n{hint}" if hint else text


def coc_unavailable(user_id: str, identity: str, task_id: str, reason: str, may_have_acted: bool) -> str:
    if may_have_acted:
        consequence = (
            "The request may have reached COC, so *the task may have been enabled anyway*: check it in "
            "the COC console before trying again."
        )
        icon = ":warning:"
    else:
        consequence = "The request never reached COC, so the task was not enabled. Try again later."
        icon = ":x:"
    return f"{icon} No answer from COC. {_who(user_id, identity, task_id)}\n{escape(reason)}. {consequence}"


def credentials_failed(user_id: str, identity: str, task_id: str, reason: str) -> str:
    return (
        f":x: Identity *{escape(identity)}* could not get credentials from Huawei Cloud IAM, so nothing was "
        f"sent to COC. {_who(user_id, identity, task_id)}\nIAM said: {escape(reason)}"
    )


def in_flight(task_id: str, holder_user: str) -> str:
    return (
        f":hourglass_flowing_sand: Task {code(task_id)} is being enabled by <@{holder_user}> right now, so I "
        "did not send a second request. I will tell you the outcome here."
    )


def in_flight_outcome(task_id: str, holder_user: str, outcome: str, detail: str | None) -> str:
    text = f"The enable of task {code(task_id)} by <@{holder_user}> ended: *{escape(outcome)}*."
    return f"{text} {escape(detail)}" if detail else text


def in_flight_still_running(task_id: str, holder_user: str) -> str:
    return (
        f"The enable of task {code(task_id)} by <@{holder_user}> has not finished yet; its outcome will be "
        "posted in the channel it was started from."
    )


def reconciled(task_id: str, user_id: str, identity: str, state: str) -> str:
    return (
        f":recycle: I restarted while enabling task {code(task_id)} for <@{user_id}> as identity "
        f"*{escape(identity)}*. I asked COC afterwards: {state}"
    )


RECONCILED_ENABLED = "the task *is enabled*."
RECONCILED_DISABLED = "the task is *still disabled*; run the command again to enable it."
RECONCILED_UNKNOWN = "COC could not tell me ({reason}), so the outcome is *unknown*: check the task in the COC console."


def history_line(at: str, user_id: str, task_id: str, identity: str | None, outcome: str, detail: str | None) -> str:
    who = f"*{escape(identity)}*" if identity else "no identity"
    text = f"{at} · <@{user_id}> · {code(task_id)} · {who} · *{outcome}*"
    return f"{text} · {escape(detail)}" if detail else text


def history(lines: Sequence[str], task_id: str | None) -> str:
    scope = f" for task {code(task_id)}" if task_id else ""
    if not lines:
        return f"No enables recorded in this channel{scope}."
    return f"Recent enables in this channel{scope}, newest first:\n" + "\n".join(lines)
