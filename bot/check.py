"""``python -m bot check``: prove, before going live, that the bot can do its job.

It validates every setting and the identity map, asks Slack who the bot token belongs to
(and, in Socket Mode, whether the app-level token may open a connection), opens the audit
store, and makes one harmless signed COC read (list one task) as each identity; agency
identities first obtain temporary credentials from IAM for the made-up Slack user
:data:`DOCTOR_USER`. Nothing is enabled.

The result is a table on stdout, one row per check: what was checked, PASS, FAIL or SKIP
(when a failed check leaves nothing to check with), and what was found or how to fix it.
The exit status is 1 when any check failed. Rows name environment variables, never their
values, so the table can be pasted into a ticket.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from pydantic_settings import BaseSettings
from slack_sdk.errors import SlackApiError as SdkApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs, transport
from bot.audit.database_url import driver_url
from bot.audit.store import AuditStore
from bot.coc import answers
from bot.coc.client import CocClient
from bot.errors import CocError, CocUnavailable, ConfigError, CredentialsError, StoreError
from bot.identities.loader import load_identity_map
from bot.identities.model import AgencyIdentity, Identity, IdentityMap, KeyIdentity
from bot.identities.provider import CredentialProvider
from bot.settings import (
    CocSettings,
    IamSettings,
    IdentitySettings,
    LogSettings,
    ServerSettings,
    SlackSettings,
    StoreSettings,
    load,
    load_settings,
)
from bot.slack.api import api_error
from bot.slack.socket_mode import REFUSED_TOKEN

DOCTOR_USER = "doctor"
"""The Slack user the doctor's IAM sessions are named after; no real user ID looks like it."""

SLACK_TIMEOUT_SECONDS = 10


class Result(Enum):
    PASS = "PASS"  # noqa: S105  a check result, not a password
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class Row:
    what: str
    result: Result
    detail: str
    """What was found when it passed; how to fix it when it failed; why when it was skipped."""


def passed(what: str, detail: str) -> Row:
    return Row(what, Result.PASS, detail)


def failed(what: str, fix: str) -> Row:
    return Row(what, Result.FAIL, fix)


def skipped(what: str, reason: str) -> Row:
    return Row(what, Result.SKIP, reason)


async def main() -> int:
    logs.configure("WARNING", "text")
    rows = await run_checks(os.environ)
    print(render(rows))
    return 1 if any(row.result is Result.FAIL for row in rows) else 0


async def run_checks(environ: Mapping[str, str]) -> list[Row]:
    """Every check, in the order a fix is best made."""
    rows, concerns = _settings()
    slack = concerns.get(SlackSettings)
    identities = concerns.get(IdentitySettings)
    store = concerns.get(StoreSettings)
    coc = concerns.get(CocSettings)
    iam = concerns.get(IamSettings)

    identity_map: IdentityMap | None = None
    if isinstance(identities, IdentitySettings):
        row, identity_map = _identity_map(identities, environ)
        rows.append(row)
    else:
        rows.append(skipped("identity map", "fix IDENTITY_MAP in the settings first"))

    if isinstance(slack, SlackSettings):
        rows.append(await _slack_auth(slack))
        if slack.app_token is not None:
            rows.append(await _slack_socket(slack))
    else:
        rows.append(skipped("Slack bot token", "fix the SLACK_ settings first"))

    if isinstance(store, StoreSettings):
        rows.append(await _store(store))
    else:
        rows.append(skipped("audit store", "fix DATABASE_URL first"))

    if identity_map is None:
        rows.append(skipped("COC access", "fix the identity map first"))
    elif not isinstance(coc, CocSettings) or not isinstance(iam, IamSettings):
        rows.append(skipped("COC access", "fix the COC_ and IAM_ settings first"))
    else:
        rows.extend(await _coc_access(identity_map, coc, iam))
    return rows


def render(rows: Sequence[Row]) -> str:
    """The rows as a table, then a one-line summary."""
    header = ("CHECK", "RESULT", "DETAIL")
    what_width = max(len(header[0]), *(len(row.what) for row in rows))
    result_width = len(header[1])
    indent = " " * (what_width + result_width + 4)
    lines = [f"{header[0]:<{what_width}}  {header[1]:<{result_width}}  {header[2]}"]
    for row in rows:
        detail = row.detail.replace("\n", "\n" + indent)
        lines.append(f"{row.what:<{what_width}}  {row.result.value:<{result_width}}  {detail}")

    failures = sum(1 for row in rows if row.result is Result.FAIL)
    if failures:
        lines.append(f"\n{failures} of {len(rows)} checks failed; fix them from the top down.")
    else:
        lines.append(f"\nAll {len(rows)} checks passed.")
    return "\n".join(lines)


def _settings() -> tuple[list[Row], dict[type[BaseSettings], BaseSettings]]:
    concerns: dict[type[BaseSettings], BaseSettings] = {}
    problems: list[str] = []
    classes: tuple[type[BaseSettings], ...] = (
        SlackSettings,
        CocSettings,
        IamSettings,
        IdentitySettings,
        StoreSettings,
        ServerSettings,
        LogSettings,
    )
    for cls in classes:
        try:
            concerns[cls] = load(cls)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        return [failed("settings", "\n".join(problems))], concerns
    # The cross-checks: a signing secret in HTTP mode, a COC region with an endpoint.
    try:
        settings = load_settings()
    except ConfigError as exc:
        return [failed("settings", str(exc))], concerns

    mode = "Socket Mode" if settings.slack.socket_mode else "HTTP mode"
    return [passed("settings", f"{mode}; COC at {settings.coc.base_url}; IAM at {settings.iam.endpoint}")], concerns


def _identity_map(settings: IdentitySettings, environ: Mapping[str, str]) -> tuple[Row, IdentityMap | None]:
    try:
        identity_map = load_identity_map(settings.identity_map, environ)
    except ConfigError as exc:
        # The loader's message names every problem with its fix.
        return failed("identity map", str(exc)), None
    summary = (
        f"{settings.identity_map} (identities: {len(identity_map.identities)}, "
        f"users: {len(identity_map.users)}, emails: {len(identity_map.emails)})"
    )
    return passed("identity map", summary), identity_map


async def _slack_auth(settings: SlackSettings) -> Row:
    what = "Slack bot token (auth.test)"
    client = AsyncWebClient(
        token=settings.bot_token.get_secret_value(), base_url=settings.api_url, timeout=SLACK_TIMEOUT_SECONDS
    )
    try:
        auth = await client.auth_test()
    except SdkApiError as exc:
        return failed(
            what,
            f"Slack refused SLACK_BOT_TOKEN ({api_error(exc)}); set it to the app's Bot User OAuth "
            "Token (xoxb-…) from the app's OAuth & Permissions page",
        )
    except Exception as exc:  # any transport failure means the same: no Slack
        return failed(what, _unreachable_slack(settings, exc))
    return passed(what, f"team {auth.get('team_id')}, bot user {auth.get('user_id')}")


async def _slack_socket(settings: SlackSettings) -> Row:
    what = "Slack app-level token (Socket Mode)"
    client = AsyncWebClient(base_url=settings.api_url, timeout=SLACK_TIMEOUT_SECONDS)
    assert settings.app_token is not None
    try:
        # An unused URL expires by itself; opening it is what would make a connection.
        await client.apps_connections_open(app_token=settings.app_token.get_secret_value())
    except SdkApiError as exc:
        error = api_error(exc)
        if error in REFUSED_TOKEN:
            return failed(
                what,
                f"Slack refused SLACK_APP_TOKEN ({error}); set it to an app-level token (xapp-…) with "
                "the connections:write scope, from the app's Basic Information page",
            )
        return failed(what, f"apps.connections.open answered {error}; check Socket Mode is enabled for the app")
    except Exception as exc:  # any transport failure means the same: no Slack
        return failed(what, _unreachable_slack(settings, exc))
    return passed(what, "Slack would open a Socket Mode connection")


def _unreachable_slack(settings: SlackSettings, exc: Exception) -> str:
    return (
        f"Slack's Web API at SLACK_API_URL={settings.api_url} could not be reached "
        f"({type(exc).__name__}); check SLACK_API_URL and the network"
    )


async def _store(settings: StoreSettings) -> Row:
    what = "audit store"
    try:
        backend = driver_url(settings.database_url).get_backend_name()
        async with await AuditStore.open(settings.database_url) as store:
            await store.ping()
    except ConfigError as exc:
        return failed(what, str(exc))
    except StoreError as exc:
        return failed(what, f"{exc}\ncheck DATABASE_URL and that the database accepts connections")
    return passed(what, f"{backend} reachable, audit schema up to date")


async def _coc_access(identity_map: IdentityMap, coc: CocSettings, iam: IamSettings) -> list[Row]:
    try:
        base_url = coc.base_url
    except ConfigError as exc:
        return [failed("COC access", str(exc))]

    # The bot's own client, so that the doctor reaches COC and IAM the way the bot does.
    async with transport.new_client(coc.timeout_seconds) as http:
        # One try each: the doctor reports what happens now, a retry would only hide it.
        client = CocClient(http, base_url, retries=0)
        provider = CredentialProvider(
            http, iam.endpoint, renew_margin=timedelta(seconds=iam.renew_margin_seconds), retries=0
        )
        checks = [
            _identity(identity, identity_map, client, provider, base_url, iam.endpoint)
            for identity in identity_map.identities.values()
        ]
        return list(await asyncio.gather(*checks))


async def _identity(
    identity: Identity,
    identity_map: IdentityMap,
    client: CocClient,
    provider: CredentialProvider,
    coc_url: str,
    iam_url: str,
) -> Row:
    what = f"COC read as {identity.name} ({identity.kind})"
    try:
        credentials = await provider.credentials_for(identity, identity_map, DOCTOR_USER)
    except CredentialsError as exc:
        return failed(what, _agency_fix(identity, identity_map, exc, iam_url))
    try:
        tasks = await client.list_tasks(credentials, identity.domain_id, limit=1)
    except CocError as exc:
        return failed(what, _coc_fix(identity, exc))
    except CocUnavailable as exc:
        return failed(what, f"{exc.reason}; check COC_ENDPOINT (or COC_REGION) points at COC, currently {coc_url}")
    seen = "a scheduled task" if tasks else "no scheduled tasks yet"
    return passed(what, f"signed COC read in domain {identity.domain_id} answered; it sees {seen}")


def _agency_fix(identity: Identity, identity_map: IdentityMap, exc: CredentialsError, iam_url: str) -> str:
    if exc.code is None:
        return f"{exc.reason}; check IAM_ENDPOINT, currently {iam_url}"
    assert isinstance(identity, AgencyIdentity), "only agencies ask IAM"
    source = identity_map.source_of(identity)
    account = identity.agency_domain_name or identity.agency_domain_id
    return (
        f"{exc.reason}\ncheck that agency {identity.agency_name} exists in account {account}, "
        f"trusts the account of identity {source.name}, and that {source.access_key_env}'s user "
        "may assume it (iam:agencies:assume)"
    )


def _coc_fix(identity: Identity, exc: CocError) -> str:
    said = f"COC answered HTTP {exc.status} {exc.error_code}: {exc.error_msg}"
    if answers.credentials_rejected(exc):
        if isinstance(identity, KeyIdentity):
            return (
                f"{said}\nset {identity.access_key_env} and {identity.secret_key_env} to this "
                f"identity's access key and secret key (account {identity.domain_id})"
            )
        return f"{said}\nIAM's temporary credentials were refused; check the agency's account and region"
    if exc.status == 403 or exc.error_code in ("APIG.0302", "APIGW.0302"):
        return f"{said}\ngrant the identity read access to COC scheduled tasks (e.g. COC ReadOnlyAccess)"
    return f"{said}\ncheck domain_id {identity.domain_id} in the identity map and the identity's COC permissions"
