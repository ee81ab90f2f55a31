"""No secret leaves the bot: not in its logs, Slack, the audit trail, or a start-up error.

One bot is driven down every path (success under a key identity and an agency, COC and
IAM refusals and failures, credentials renewed after the gateway rejected them, refusals
before COC, forged and malformed requests) with secrets the peers know: the signing
secret, the bot token, each secret key, and each secret key and security token IAM issued.
Then every place the bot writes to is searched for each of them, whole and in part.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bot_process import BotProcess, BotStartError, run_bot_command
from tests.hostile.forge import Forge, form
from tests.hostile.observe import REPO, audit_records
from tests.integration.stack import (
    ALLOWED_CHANNEL,
    BASE_SK,
    BOT_TOKEN,
    CHANNEL,
    IDENTITY_MAP,
    PROD_SK,
    RESTRICTED_OPERATOR,
    SANDBOX_DOMAIN,
    SANDBOX_OPERATOR,
    SIGNING_SECRET,
    UNMAPPED,
    Stack,
    bot_env,
    new_task_id,
    peers,
)
from tests.peers.coc import Fault

REFUSED_TOKEN = "xoxb-9999-8888-revokedbutsecret"


@dataclass(frozen=True)
class Run:
    secrets: dict[str, str]
    """What each secret is called, to its value."""
    places: dict[str, str]
    """Where the bot wrote, to what it wrote there."""


def _fragments(value: str) -> list[str]:
    """The value and a middle slice, so a truncated or partly masked copy is found too."""
    middle = value[len(value) // 4 : len(value) // 4 + 12]
    return [value, middle] if len(middle) == 12 else [value]


def _enable(stack: Stack, task_id: str, user_id: str, **options: object) -> str:
    stack.submit(task_id, user_id=user_id, **options)  # type: ignore[arg-type]
    return str(stack.outcome(task_id).params["text"])


def _drive_every_path(stack: Stack, forge: Forge) -> None:
    operator_task = stack.add_task()
    _enable(stack, operator_task, "U012ABCDEF", tickets=[{"ticket_type": "CHANGE", "ticket_id": "CH-1"}])

    stack.iam.refuse()
    _enable(stack, stack.add_task(domain_id=SANDBOX_DOMAIN), SANDBOX_OPERATOR)
    stack.iam.clear_faults()
    stack.iam.fail(503, times=None)
    _enable(stack, stack.add_task(domain_id=SANDBOX_DOMAIN), SANDBOX_OPERATOR)
    stack.iam.clear_faults()
    _enable(stack, stack.add_task(domain_id=SANDBOX_DOMAIN), SANDBOX_OPERATOR)
    # The gateway rejects the cached temporary credentials once: the bot renews them at IAM.
    stack.coc.faults.append(Fault.error(401, "APIGW.0301", "Incorrect IAM authentication information"))
    _enable(stack, stack.add_task(domain_id=SANDBOX_DOMAIN), SANDBOX_OPERATOR)

    _enable(stack, new_task_id(), "U012ABCDEF")
    _enable(stack, stack.add_task(enabled=True), "U012ABCDEF")
    stack.coc.faults.extend([Fault.status(503)] * 3)
    _enable(stack, stack.add_task(), "U012ABCDEF")
    stack.coc.faults.append(Fault.throttle(retry_after=0))
    _enable(stack, stack.add_task(), "U012ABCDEF")
    stack.coc.faults.append(Fault.drop())
    _enable(stack, stack.add_task(), "U012ABCDEF")
    stack.coc.faults.append(Fault.non_json(200))
    _enable(stack, stack.add_task(), "U012ABCDEF")

    stack.driver.slash_command(stack.add_task(), user_id=UNMAPPED)
    stack.driver.slash_command(stack.add_task(), user_id=RESTRICTED_OPERATOR, channel_id=CHANNEL)
    restricted = stack.driver.open_modal("", user_id=RESTRICTED_OPERATOR, channel_id=ALLOWED_CHANNEL)
    stack.driver.submit_view(restricted, {}, user_id=RESTRICTED_OPERATOR)
    stack.driver.slash_command("history")
    stack.slack.wait_for("response_url", where=lambda call: "Recent enables" in str(call.params.get("text")))
    forge.send(form({**forge.command_fields(""), "trigger_id": stack.slack.issue_trigger(ttl=0)}))
    forge.send(forge.command(""), forge.signed(forge.command(""), secret="not-the-secret"), signed=False)
    forge.send(b"payload=%7Bbroken")
    forge.send(forge.command(""), {"X-Slack-Request-Timestamp": str(int(time.time()) - 3600)})


def _startup_failures(workdir: Path) -> dict[str, str]:
    """What the bot prints when it cannot start: a refused token, a missing secret key."""
    (workdir / "identities.toml").write_text(IDENTITY_MAP, encoding="utf-8")
    outputs: dict[str, str] = {}
    with peers() as (_, _, _, _, urls):
        for name, env in {
            "start-up with a refused bot token": bot_env(urls, workdir, SLACK_BOT_TOKEN=REFUSED_TOKEN),
            "start-up without a secret key": {k: v for k, v in bot_env(urls, workdir).items() if k != "OPS_PROD_SK"},
        }.items():
            with pytest.raises(BotStartError) as failed:
                BotProcess(env, REPO).start()
            outputs[name] = str(failed.value)
        done = run_bot_command(["identities"], bot_env(urls, workdir), REPO)
        outputs["python -m bot identities"] = done.stdout + done.stderr
    return outputs


@pytest.fixture(scope="module")
def run(stack: Stack, forge: Forge, tmp_path_factory: pytest.TempPathFactory) -> Run:
    _drive_every_path(stack, forge)
    issued = stack.iam.issued()
    assert len(issued) >= 2, "the agency paths should have had IAM issue credentials twice"

    secrets = {
        "signing secret": SIGNING_SECRET,
        "bot token": BOT_TOKEN,
        "refused bot token": REFUSED_TOKEN,
        "ops-prod secret key": PROD_SK,
        "ops-base secret key": BASE_SK,
    }
    for number, key in enumerate(issued):
        secrets[f"IAM-issued secret key #{number}"] = key.secret_key
        secrets[f"IAM-issued security token #{number}"] = str(key.security_token)

    workdir = stack.workdir
    audit_json = run_bot_command(["audit", "--json", "--limit", "500"], stack.env, REPO)
    audit_table = run_bot_command(["audit", "--limit", "500"], stack.env, REPO)
    places = {
        "bot stdout and stderr": stack.bot.logs(),
        "Slack Web API calls and response URL posts": json.dumps(
            [[call.method, call.params, call.headers, call.response] for call in stack.slack.calls()], default=str
        ),
        "python -m bot audit --json": audit_json.stdout + audit_json.stderr,
        "python -m bot audit": audit_table.stdout + audit_table.stderr,
        "audit store files (raw bytes)": b"".join(
            path.read_bytes() for path in sorted(workdir.glob("audit.db*"))
        ).decode("latin-1"),
        **_startup_failures(Path(tmp_path_factory.mktemp("startup"))),
    }
    return Run(secrets, places)


def test_every_path_was_recorded_in_the_audit_trail(stack: Stack, run: Run):
    outcomes = {record["outcome"] for record in audit_records(stack)}
    assert {"enabled", "failed", "unknown", "refused"} <= outcomes


@pytest.mark.parametrize(
    "place",
    [
        "bot stdout and stderr",
        "Slack Web API calls and response URL posts",
        "python -m bot audit --json",
        "python -m bot audit",
        "audit store files (raw bytes)",
        "start-up with a refused bot token",
        "start-up without a secret key",
        "python -m bot identities",
    ],
)
def test_no_secret_appears(run: Run, place: str):
    text = run.places[place]
    assert text, f"nothing was captured from {place}"
    leaks = [name for name, value in run.secrets.items() for fragment in _fragments(value) if fragment in text]
    assert leaks == [], f"{place} holds {sorted(set(leaks))}"
