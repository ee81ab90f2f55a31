"""The project's exceptions.

Every exception the bot raises on purpose derives from :class:`BotError`::

    BotError
    ├── ConfigError            a setting or the identity map is missing or malformed
    │   └── IdentityMapError   the identity map file cannot be used
    ├── CredentialsError       an identity could not yield credentials (IAM refused or failed)
    ├── CocError               COC or its gateway answered with an error_code
    ├── CocUnavailable         COC could not be reached or answered something unreadable
    ├── SlackApiError          Slack's Web API refused a call the bot needed
    └── StoreError             the audit store could not be reached or written

Exception texts are for operators reading logs. Text shown to a Slack user lives in
``bot.messages`` and never embeds an exception's text.
"""

from __future__ import annotations


class BotError(Exception):
    """Base class for every error the bot raises on purpose."""


class ConfigError(BotError):
    """A setting is missing or malformed; the message names the variable to fix."""


class IdentityMapError(ConfigError):
    """The identity map cannot be used; the message names the file, the key and the fix."""


class CredentialsError(BotError):
    """An identity could not yield credentials for a COC call."""

    def __init__(self, identity: str, reason: str, *, code: str | None = None) -> None:
        super().__init__(f"Identity {identity!r} could not obtain credentials: {reason}")
        self.identity = identity
        self.reason = reason
        self.code = code


class CocError(BotError):
    """COC, or the API gateway in front of it, answered with an error code."""

    def __init__(
        self,
        status: int,
        error_code: str,
        error_msg: str,
        request_id: str | None = None,
        *,
        attempts: int = 1,
        earlier_may_have_acted: bool = False,
    ) -> None:
        super().__init__(f"COC answered HTTP {status} {error_code}: {error_msg}")
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id
        self.attempts = attempts
        """How many requests were sent."""
        self.earlier_may_have_acted = earlier_may_have_acted
        """Whether an earlier try got a 5xx that COC may have acted on before the gateway failed:
        then "already enabled" means that try worked."""


class CocUnavailable(BotError):
    """COC could not be reached, timed out, or answered something that is not COC's format.

    ``may_have_acted`` is true when the request may have reached COC (a timeout after
    sending, a 5xx, an unreadable answer), so the task may have been enabled anyway.
    """

    def __init__(self, reason: str, *, may_have_acted: bool, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.may_have_acted = may_have_acted
        self.status = status


class SlackApiError(BotError):
    """Slack's Web API answered ``ok: false`` to a call the bot needed."""

    def __init__(self, method: str, error: str) -> None:
        super().__init__(f"Slack's {method} answered {error!r}")
        self.method = method
        self.error = error


class StoreError(BotError):
    """The audit store could not be reached or written."""
