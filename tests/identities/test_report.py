from __future__ import annotations

from pathlib import Path

import pytest

from bot.identities.loader import load_identity_map
from bot.identities.report import main, report
from tests.identities.conftest import AGENCY_EXAMPLE, ENVIRON, WriteMap

MAP = (
    AGENCY_EXAMPLE.replace(
        "duration_seconds = 3600",
        'duration_seconds = 3600\nchannels = ["C0SANDBOX1"]\nrequire_ticket = true',
    )
    + """
[users]
U0ALICE001 = "ops-sandbox"
U0BOB00001 = "ops-base"
"Carol@Example.com" = "ops-sandbox"
"""
)


def test_report_lists_identities_users_and_channels(write_map: WriteMap) -> None:
    text = report(load_identity_map(write_map(MAP), ENVIRON))

    assert "ops-base (keys)" in text
    assert "ops-sandbox (agency)" in text
    assert "fedcba9876543210fedcba9876543210" in text
    assert "coc-operator in account ops-sandbox" in text
    assert "source:         ops-base" in text
    assert "3600 s" in text
    assert "C0SANDBOX1" in text
    assert "any channel" in text
    assert "require ticket: yes" in text
    assert "U0ALICE001" in text
    assert "U0BOB00001" in text
    assert "carol@example.com" in text
    assert "$OPS_BASE_AK" in text


def test_report_puts_each_user_under_its_identity(write_map: WriteMap) -> None:
    text = report(load_identity_map(write_map(MAP), ENVIRON))

    base, sandbox = text.split("\nops-sandbox (agency)")
    assert "U0BOB00001" in base and "U0ALICE001" not in base
    assert "U0ALICE001" in sandbox and "U0BOB00001" not in sandbox


def test_report_contains_no_secret_value(write_map: WriteMap) -> None:
    text = report(load_identity_map(write_map(MAP), ENVIRON))

    for value in ENVIRON.values():
        assert value not in text


def test_main_prints_the_report_and_succeeds(write_map: WriteMap, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(write_map(MAP), ENVIRON)

    out, err = capsys.readouterr()
    assert status == 0
    assert "ops-sandbox (agency)" in out
    assert err == ""


def test_main_prints_the_problem_to_stderr_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(tmp_path / "missing.toml", ENVIRON)

    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    assert "missing.toml does not exist" in err
