"""``python -m bot check`` against the peers: a row per check, a fix per failure, no secrets."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bot_process import run_bot_command
from tests.integration.stack import (
    BASE_SK,
    BOT_TOKEN,
    IDENTITY_MAP,
    PROD_SK,
    SANDBOX_DOMAIN,
    SIGNING_SECRET,
    bot_env,
    huawei_peers,
)
from tests.peers.coc import CocPeer
from tests.peers.iam import IamPeer
from tests.peers.server import free_port
from tests.peers.slack import SlackPeer
from tests.peers.socket import SocketPeer

APP_TOKEN = "xapp-1-A0APPID001-2222-doctortoken"
IDENTITIES = ("ops-prod", "ops-base", "ops-sandbox", "ops-restricted")
_ROW = re.compile(r"^(?P<what>\S.*?)\s{2,}(?P<result>PASS|FAIL|SKIP)\s{2}(?P<detail>.*)$")


@dataclass
class Peers:
    slack: SlackPeer
    socket: SocketPeer
    coc: CocPeer
    iam: IamPeer
    urls: dict[str, str]
    workdir: Path

    def check(self, **overrides: str) -> tuple[subprocess.CompletedProcess[str], dict[str, tuple[str, str]]]:
        """Run the doctor with the stack's settings and ``overrides``; its result and rows by name."""
        env = {**bot_env(self.urls, self.workdir), **overrides}
        for name in [name for name, value in env.items() if value == ""]:
            del env[name]
        result = run_bot_command(["check"], env, self.workdir, timeout=60)
        return result, rows(result.stdout)


def rows(stdout: str) -> dict[str, tuple[str, str]]:
    """Each table row's result and detail (continuation lines joined), by what it checked."""
    found: dict[str, tuple[str, str]] = {}
    last: str | None = None
    for line in stdout.splitlines()[1:]:
        match = _ROW.match(line)
        if match:
            last = match["what"]
            found[last] = (match["result"], match["detail"])
        elif line.startswith(" ") and last is not None:
            result, detail = found[last]
            found[last] = (result, f"{detail}\n{line.strip()}")
        else:
            last = None
    return found


def identity_rows(table: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    return {what.split()[3]: row for what, row in table.items() if what.startswith("COC read as ")}


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    workdir = Path(tmp_path_factory.mktemp("doctor"))
    (workdir / "identities.toml").write_text(IDENTITY_MAP, encoding="utf-8")
    slack = SlackPeer(BOT_TOKEN)
    socket = SocketPeer(APP_TOKEN, slack)
    with ExitStack() as stack:
        stack.enter_context(socket.serve())
        coc, iam, _, huawei = stack.enter_context(huawei_peers())
        urls = {"slack": socket.api_url, **huawei}
        yield Peers(slack, socket, coc, iam, urls, workdir)


def assert_no_secret(result: subprocess.CompletedProcess[str], *extra: str) -> None:
    output = result.stdout + result.stderr
    for secret in (PROD_SK, BASE_SK, BOT_TOKEN, SIGNING_SECRET, APP_TOKEN, *extra):
        assert secret not in output


def test_all_checks_pass_against_working_peers_and_exit_zero(peers: Peers):
    coc_reads_before = len(peers.coc.calls_to("GET", "/v1/schedule/task"))
    result, table = peers.check()

    assert result.returncode == 0, result.stdout + result.stderr
    assert {what: row[0] for what, row in table.items()} == dict.fromkeys(table, "PASS")
    assert set(identity_rows(table)) == set(IDENTITIES)
    for what in ("settings", "identity map", "Slack bot token (auth.test)", "audit store"):
        assert what in table
    reads = peers.coc.calls_to("GET", "/v1/schedule/task")[coc_reads_before:]
    assert len(reads) == len(IDENTITIES) and all(call.status == 200 for call in reads)
    assert "All" in result.stdout and "passed" in result.stdout
    assert_no_secret(result, *(key.secret_key for key in peers.iam.issued()))


def test_agency_identity_reads_coc_with_credentials_iam_issued_for_the_doctor(peers: Peers):
    issued_before = len(peers.iam.issued())
    _, table = peers.check()

    assert identity_rows(table)["ops-sandbox"][0] == "PASS"
    issued = peers.iam.issued()[issued_before:]
    assert len(issued) == 1 and str(issued[0].session_user).endswith("doctor")
    reads = [call for call in peers.coc.calls_to("GET", "/v1/schedule/task") if call.access_key == issued[0].access_key]
    assert len(reads) == 1 and reads[0].headers["x-domain-id"] == SANDBOX_DOMAIN


def test_a_wrong_secret_key_fails_the_identities_that_use_it_and_names_the_variables(peers: Peers):
    wrong = "not-the-secret-key-0000000001"
    result, table = peers.check(OPS_PROD_SK=wrong)

    assert result.returncode == 1
    by_identity = identity_rows(table)
    for name in ("ops-prod", "ops-restricted"):
        status, detail = by_identity[name]
        assert status == "FAIL"
        assert "OPS_PROD_AK" in detail and "OPS_PROD_SK" in detail and "APIGW.0301" in detail
    assert by_identity["ops-base"][0] == "PASS" and by_identity["ops-sandbox"][0] == "PASS"
    assert table["settings"][0] == "PASS"
    assert_no_secret(result, wrong)


def test_a_bad_bot_token_fails_the_slack_row_with_the_fix(peers: Peers):
    wrong = "xoxb-9999-8888-notthebottoken"
    result, table = peers.check(SLACK_BOT_TOKEN=wrong)

    assert result.returncode == 1
    status, detail = table["Slack bot token (auth.test)"]
    assert status == "FAIL" and "invalid_auth" in detail and "SLACK_BOT_TOKEN" in detail
    assert all(row[0] == "PASS" for row in identity_rows(table).values())
    assert_no_secret(result, wrong)


def test_an_unreachable_coc_endpoint_fails_every_identity_with_the_setting_to_fix(peers: Peers):
    closed = f"http://127.0.0.1:{free_port()}"
    result, table = peers.check(COC_ENDPOINT=closed)

    assert result.returncode == 1
    by_identity = identity_rows(table)
    assert set(by_identity) == set(IDENTITIES)
    for status, detail in by_identity.values():
        assert status == "FAIL" and "COC_ENDPOINT" in detail and closed in detail
    assert table["Slack bot token (auth.test)"][0] == "PASS"


def test_a_malformed_setting_fails_the_settings_row_and_names_the_variable(peers: Peers):
    result, table = peers.check(COC_TIMEOUT_SECONDS="soon")

    assert result.returncode == 1
    status, detail = table["settings"]
    assert status == "FAIL" and "COC_TIMEOUT_SECONDS" in detail
    assert table["COC access"][0] == "SKIP"
    assert table["Slack bot token (auth.test)"][0] == "PASS"


def test_a_missing_key_variable_fails_the_identity_map_and_skips_coc(peers: Peers):
    result, table = peers.check(OPS_BASE_SK="")

    assert result.returncode == 1
    status, detail = table["identity map"]
    assert status == "FAIL" and "OPS_BASE_SK" in detail
    assert table["COC access"][0] == "SKIP"
    assert not identity_rows(table)


def test_an_unreachable_store_fails_the_store_row(peers: Peers):
    missing = peers.workdir / "no-such-directory" / "audit.db"
    result, table = peers.check(DATABASE_URL=f"sqlite:///{missing}")

    assert result.returncode == 1
    status, detail = table["audit store"]
    assert status == "FAIL" and "DATABASE_URL" in detail


def test_socket_mode_checks_the_app_level_token(peers: Peers):
    opens_before = len(peers.socket.opens())
    result, table = peers.check(SLACK_APP_TOKEN=APP_TOKEN)

    assert result.returncode == 0, result.stdout
    assert table["Slack app-level token (Socket Mode)"][0] == "PASS"
    assert "Socket Mode" in table["settings"][1]
    assert len(peers.socket.opens()) == opens_before + 1
    assert_no_secret(result)


def test_a_refused_app_level_token_fails_with_the_fix(peers: Peers):
    wrong = "xapp-1-A0APPID001-3333-notthetoken"
    result, table = peers.check(SLACK_APP_TOKEN=wrong)

    assert result.returncode == 1
    status, detail = table["Slack app-level token (Socket Mode)"]
    assert status == "FAIL" and "SLACK_APP_TOKEN" in detail and "connections:write" in detail
    assert_no_secret(result, wrong)
