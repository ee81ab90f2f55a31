"""The processes under test: the Slack and COC peers, the bot, the bare Bolt baseline.

Each runs in a process of its own, so that the load generator, the peers and the bot
compete for the machine's cores as they would beside each other, not inside one
interpreter.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.procs import Child, wait_http
from tests.bot_process import clean_env
from tests.integration.stack import BOT_TOKEN, OPERATOR, PROD_AK, PROD_DOMAIN, PROD_SK, SIGNING_SECRET
from tests.peers.server import free_port

PEER_START_TIMEOUT = 20.0
BOT_START_TIMEOUT = 20.0

IDENTITY_MAP = f"""\
[identities.ops-prod]
domain_id = "{PROD_DOMAIN}"
access_key_env = "OPS_PROD_AK"
secret_key_env = "OPS_PROD_SK"

[users]
{OPERATOR} = "ops-prod"
"""


class Peer:
    """A peer process and the ``/_bench/`` routes that set it up and read it back."""

    def __init__(self, kind: str, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.child = Child(f"peer-{kind}", ["bench.peers", kind, "--port", str(self.port)], log_dir)
        self._client = httpx.Client(base_url=self.url, timeout=60)

    def start(self) -> Peer:
        self.child.start()
        wait_http(f"{self.url}/_bench/ping", self.child.process, PEER_START_TIMEOUT, poll=0.05)
        return self

    def get(self, control: str, **params: Any) -> Any:
        response = self._client.get(f"/_bench/{control}", params=params)
        response.raise_for_status()
        return response.json()

    def post(self, control: str, body: dict[str, Any] | None = None) -> Any:
        response = self._client.post(f"/_bench/{control}", json=body or {})
        response.raise_for_status()
        return response.json()

    def stop(self) -> None:
        self._client.close()
        self.child.stop()


@dataclass
class Peers:
    slack: Peer
    coc: Peer

    @property
    def slack_api_url(self) -> str:
        return f"{self.slack.url}/api/"

    def triggers(self, count: int) -> tuple[list[str], str]:
        """``count`` fresh triggers and one response URL for the commands they open modals with."""
        issued = self.slack.post("triggers", {"count": count, "response_urls": 1})
        return issued["triggers"], issued["response_urls"][0]


@contextlib.contextmanager
def running_peers(log_dir: Path) -> Iterator[Peers]:
    with contextlib.ExitStack() as stack:
        slack = Peer("slack", log_dir)
        stack.callback(slack.stop)
        coc = Peer("coc", log_dir)
        stack.callback(coc.stop)
        slack.start()
        coc.start()
        yield Peers(slack, coc)


def bot_env(peers: Peers, workdir: Path, port: int, extra: Mapping[str, str]) -> dict[str, str]:
    """The bot's environment: production defaults except where the peers are, then ``extra``."""
    identity_map = workdir / "identities.toml"
    identity_map.write_text(IDENTITY_MAP, encoding="utf-8")
    return clean_env(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": peers.slack_api_url,
            "COC_ENDPOINT": peers.coc.url,
            # Only permanent-key identities are mapped, so IAM is never called.
            "IAM_ENDPOINT": "http://127.0.0.1:9",
            "IDENTITY_MAP": str(identity_map),
            "DATABASE_URL": f"sqlite:///{workdir / 'audit.db'}",
            "OPS_PROD_AK": PROD_AK,
            "OPS_PROD_SK": PROD_SK,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            **extra,
        }
    )


class Bot:
    """``python -m bot`` serving HTTP, as production starts it."""

    def __init__(
        self, peers: Peers, workdir: Path, log_dir: Path, *, name: str = "bot", extra_env: Mapping[str, str]
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.events_url = f"{self.url}/slack/events"
        self.workdir = workdir
        self.env = bot_env(peers, workdir, self.port, extra_env)
        self.child = Child(name, ["bot"], log_dir, env=self.env)
        self.startup_seconds = 0.0

    def start(self) -> Bot:
        self.child.start()
        try:
            wait_http(f"{self.url}/healthz", self.child.process, BOT_START_TIMEOUT)
        except RuntimeError as exc:
            self.child.stop()
            raise RuntimeError(f"{exc}\n{self.child.log_tail()}") from exc
        self.startup_seconds = time.perf_counter() - self.child.started_at
        return self

    def stop(self) -> None:
        self.child.stop()

    @property
    def database_url(self) -> str:
        """Where the bot keeps its audit trail, on whichever store ``--bot-env`` chose."""
        return self.env["DATABASE_URL"]


class BareBolt:
    """The baseline app from :mod:`bench.bare_bolt`."""

    def __init__(self, peers: Peers, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.events_url = f"{self.url}/slack/events"
        args = ["bench.bare_bolt", "--port", str(self.port), "--slack-api-url", peers.slack_api_url]
        self.child = Child("bare-bolt", args, log_dir)

    def start(self) -> BareBolt:
        self.child.start()
        wait_http(f"{self.url}/healthz", self.child.process, BOT_START_TIMEOUT)
        return self

    def stop(self) -> None:
        self.child.stop()
