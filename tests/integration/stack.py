"""The bot as production runs it, with every peer it talks to, on loopback.

``Stack`` starts the Slack, COC and IAM peers in this process and the bot as
``python -m bot`` in its own, configured only through its environment.
"""

from __future__ import annotations

import itertools
import secrets
import string
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.bot_process import REPO, BotProcess
from tests.peers.coc import CocPeer
from tests.peers.iam import IamPeer
from tests.peers.keyring import Key, Keyring
from tests.peers.server import serve
from tests.peers.slack import SlackPeer
from tests.slack_driver import SlackDriver

BOT_TOKEN = "xoxb-1111-2222-integrationtoken"
SIGNING_SECRET = "integration-signing-secret-0123456789"

PROD_DOMAIN = "0123456789abcdef0123456789abcdef"
BASE_DOMAIN = "abcdefabcdefabcdefabcdefabcdef01"
SANDBOX_DOMAIN = "fedcba9876543210fedcba9876543210"
PROD_AK, PROD_SK = "PRODAK00000000000001", "prod-secret-key-000000000001"
BASE_AK, BASE_SK = "BASEAK00000000000001", "base-secret-key-000000000001"

OPERATOR = "U012ABCDEF"
SANDBOX_OPERATOR = "U0SANDBOX1"
RESTRICTED_OPERATOR = "U0RESTRICT"
EMAIL_OPERATOR = "U0EMAILED1"
EMAIL = "carol@example.com"
UNMAPPED = "U0NOBODY01"
CHANNEL = "C0CHANNEL1"
ALLOWED_CHANNEL = "C0ALLOWED1"

IDENTITY_MAP = f"""\
[identities.ops-prod]
domain_id = "{PROD_DOMAIN}"
access_key_env = "OPS_PROD_AK"
secret_key_env = "OPS_PROD_SK"

[identities.ops-base]
domain_id = "{BASE_DOMAIN}"
access_key_env = "OPS_BASE_AK"
secret_key_env = "OPS_BASE_SK"

[identities.ops-sandbox]
domain_id = "{SANDBOX_DOMAIN}"
agency_name = "coc-operator"
agency_domain_name = "ops-sandbox"
source = "ops-base"
duration_seconds = 3600

[identities.ops-restricted]
domain_id = "{PROD_DOMAIN}"
access_key_env = "OPS_PROD_AK"
secret_key_env = "OPS_PROD_SK"
channels = ["{ALLOWED_CHANNEL}"]
require_ticket = true

[users]
{OPERATOR} = "ops-prod"
{SANDBOX_OPERATOR} = "ops-sandbox"
{RESTRICTED_OPERATOR} = "ops-restricted"
"{EMAIL}" = "ops-prod"
"""

_counter = itertools.count(1)


def new_task_id() -> str:
    """A fresh, valid task ID, so that tests sharing a bot never share a task."""
    tail = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(18))
    return f"ST{next(_counter):06d}{tail}"


@dataclass
class Stack:
    slack: SlackPeer
    coc: CocPeer
    iam: IamPeer
    keyring: Keyring
    bot: BotProcess
    driver: SlackDriver
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    def add_task(self, *, domain_id: str = PROD_DOMAIN, enabled: bool = False, name: str = "nightly backup") -> str:
        task_id = new_task_id()
        self.coc.add_task(task_id, name, domain_id, enabled=enabled)
        return task_id

    def enable_calls(self, task_id: str) -> list[Any]:
        return self.coc.calls_to("POST", f"/v1/schedule/task/{task_id}/enable")

    def submit(
        self,
        task_id: str,
        *,
        user_id: str = OPERATOR,
        channel_id: str = CHANNEL,
        tickets: list[Mapping[str, str]] | None = None,
        **open_options: Any,
    ) -> tuple[dict[str, Any], Any]:
        """Open the modal with ``task_id`` in the command and submit it with ``tickets``."""
        view = self.driver.open_modal(task_id, user_id=user_id, channel_id=channel_id, **open_options)
        values = ticket_values(view, tickets or [])
        return view, self.driver.submit_view(view, values, user_id=user_id)

    def outcome(self, task_id: str, channel: str = CHANNEL, *, timeout: float = 15) -> Any:
        """The one message posted in ``channel`` about ``task_id``."""
        calls = self.slack.wait_for(
            "chat.postMessage",
            timeout=timeout,
            where=lambda call: call.params.get("channel") == channel and task_id in str(call.params.get("text")),
        )
        assert len(calls) == 1, [c.params.get("text") for c in calls]
        return calls[0]


def ticket_values(view: Mapping[str, Any], tickets: list[Mapping[str, str]]) -> dict[str, Any]:
    from tests.slack_driver import values_for

    by_block: dict[str, Any] = {}
    for row, ticket in enumerate(tickets):
        for name, value in ticket.items():
            by_block[f"{name}_{row}"] = value
    return values_for(view, by_block)


def bot_env(stack_urls: Mapping[str, str], workdir: Path, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": stack_urls["slack"],
        "COC_ENDPOINT": stack_urls["coc"],
        "IAM_ENDPOINT": stack_urls["iam"],
        "IDENTITY_MAP": str(workdir / "identities.toml"),
        "DATABASE_URL": f"sqlite:///{workdir / 'audit.db'}",
        "OPS_PROD_AK": PROD_AK,
        "OPS_PROD_SK": PROD_SK,
        "OPS_BASE_AK": BASE_AK,
        "OPS_BASE_SK": BASE_SK,
        "COC_TIMEOUT_SECONDS": "5",
        "LOG_LEVEL": "INFO",
        **extra,
    }


def slack_peer() -> SlackPeer:
    """The Slack Web API peer, knowing the email of the user mapped by email."""
    slack = SlackPeer(BOT_TOKEN)
    slack.users[EMAIL_OPERATOR] = {"name": "carol", "real_name": "Carol", "email": EMAIL}
    return slack


@contextmanager
def huawei_peers() -> Iterator[tuple[CocPeer, IamPeer, Keyring, dict[str, str]]]:
    """COC and IAM peers sharing one keyring, serving; yields their URLs as ``coc`` and ``iam``."""
    keyring = Keyring()
    keyring.add(Key(PROD_AK, PROD_SK, PROD_DOMAIN))
    keyring.add(Key(BASE_AK, BASE_SK, BASE_DOMAIN))
    coc = CocPeer(keyring)
    iam = IamPeer(keyring)
    iam.add_agency("coc-operator", SANDBOX_DOMAIN, domain_name="ops-sandbox", trusted=BASE_DOMAIN)
    with ExitStack() as stack:
        coc_url = stack.enter_context(serve(coc))
        stack.enter_context(iam.serve())
        assert iam.url is not None
        yield coc, iam, keyring, {"coc": coc_url, "iam": iam.url}


@contextmanager
def peers() -> Iterator[tuple[SlackPeer, CocPeer, IamPeer, Keyring, dict[str, str]]]:
    slack = slack_peer()
    with slack.serve(), huawei_peers() as (coc, iam, keyring, urls):
        yield slack, coc, iam, keyring, {"slack": slack.api_url, **urls}


@contextmanager
def running_stack(workdir: Path, **extra_env: str) -> Iterator[Stack]:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "identities.toml").write_text(IDENTITY_MAP, encoding="utf-8")
    with peers() as (slack, coc, iam, keyring, urls):
        env = bot_env(urls, workdir, **extra_env)
        with (
            BotProcess(env, REPO) as bot,
            SlackDriver(bot.url, SIGNING_SECRET, slack) as driver,
        ):
            yield Stack(slack, coc, iam, keyring, bot, driver, workdir, env)
