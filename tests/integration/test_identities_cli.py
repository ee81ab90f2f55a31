"""``python -m bot identities``: the admin's account of the identity map, run as a process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.bot_process import REPO, run_bot_command
from tests.integration.stack import (
    ALLOWED_CHANNEL,
    BASE_AK,
    BASE_SK,
    EMAIL,
    IDENTITY_MAP,
    OPERATOR,
    PROD_AK,
    PROD_DOMAIN,
    PROD_SK,
    RESTRICTED_OPERATOR,
    SANDBOX_DOMAIN,
    SANDBOX_OPERATOR,
)

SECRET_VALUES = (PROD_AK, PROD_SK, BASE_AK, BASE_SK)
_HEADING = re.compile(r"(?P<name>\S+) \((?P<kind>\w+)\)")
_ROW = re.compile(r"^\s+(?P<label>[a-z ]+):\s+(?P<value>.*)$")


def identity_env(identity_map: Path) -> dict[str, str]:
    return {
        "IDENTITY_MAP": str(identity_map),
        "OPS_PROD_AK": PROD_AK,
        "OPS_PROD_SK": PROD_SK,
        "OPS_BASE_AK": BASE_AK,
        "OPS_BASE_SK": BASE_SK,
    }


def sections(report: str) -> dict[str, tuple[str, dict[str, str]]]:
    """Each identity's kind and rows, keyed by its name."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for paragraph in report.strip().split("\n\n")[1:]:
        heading, *rows = paragraph.splitlines()
        titled = _HEADING.fullmatch(heading)
        assert titled is not None, f"not an identity heading: {heading!r}"
        found[titled["name"]] = (titled["kind"], {m["label"]: m["value"] for m in map(_ROW.match, rows) if m})
    return found


def test_identities_prints_who_maps_to_what_and_where_without_secret_values(tmp_path: Path):
    identity_map = tmp_path / "identities.toml"
    identity_map.write_text(IDENTITY_MAP, encoding="utf-8")

    result = run_bot_command(["identities"], identity_env(identity_map), REPO)

    assert result.returncode == 0, result.stderr
    report = sections(result.stdout)
    assert set(report) == {"ops-prod", "ops-base", "ops-sandbox", "ops-restricted"}

    kind, prod = report["ops-prod"]
    assert kind == "keys" and prod["account"] == PROD_DOMAIN
    assert "OPS_PROD_AK" in prod["keys from"] and "OPS_PROD_SK" in prod["keys from"]
    assert prod["users"] == OPERATOR and prod["emails"] == EMAIL
    assert prod["channels"] == "any channel"

    kind, sandbox = report["ops-sandbox"]
    assert kind == "agency" and sandbox["account"] == SANDBOX_DOMAIN
    assert "coc-operator" in sandbox["agency"] and "ops-sandbox" in sandbox["agency"]
    assert sandbox["source"] == "ops-base" and sandbox["users"] == SANDBOX_OPERATOR

    _, restricted = report["ops-restricted"]
    assert restricted["users"] == RESTRICTED_OPERATOR
    assert restricted["channels"] == ALLOWED_CHANNEL and restricted["require ticket"] == "yes"

    assert report["ops-base"][1]["users"] == "none"
    for secret in SECRET_VALUES:
        assert secret not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda text: text + 'U0GHOST001 = "ops-ghost"\n', ["users.U0GHOST001", "ops-ghost"]),
        (lambda text: text.replace('"coc-operator"', '"coc-operator'), ["not valid TOML", "line"]),
        (
            lambda text: text.replace('source = "ops-base"', 'source = "ops-nowhere"'),
            ["identities.ops-sandbox.source", "ops-nowhere"],
        ),
    ],
    ids=["unknown identity", "toml syntax", "unknown source"],
)
def test_identities_on_a_broken_map_exits_non_zero_naming_the_problem(tmp_path: Path, edit, named: list[str]):
    identity_map = tmp_path / "identities.toml"
    identity_map.write_text(edit(IDENTITY_MAP), encoding="utf-8")

    result = run_bot_command(["identities"], identity_env(identity_map), REPO)

    assert result.returncode != 0
    assert str(identity_map) in result.stderr
    for needle in named:
        assert needle in result.stderr, result.stderr
    assert "(keys)" not in result.stdout
    for secret in SECRET_VALUES:
        assert secret not in result.stdout + result.stderr


def test_identities_names_the_unset_key_variable_without_showing_the_others(tmp_path: Path):
    identity_map = tmp_path / "identities.toml"
    identity_map.write_text(IDENTITY_MAP, encoding="utf-8")
    env = identity_env(identity_map)
    del env["OPS_PROD_SK"]

    result = run_bot_command(["identities"], env, REPO)

    assert result.returncode != 0
    assert "identities.ops-prod.secret_key_env" in result.stderr and "OPS_PROD_SK is not set" in result.stderr
    for secret in SECRET_VALUES:
        assert secret not in result.stdout + result.stderr


def test_identities_on_a_missing_map_names_the_file_and_the_setting(tmp_path: Path):
    missing = tmp_path / "nowhere" / "identities.toml"

    result = run_bot_command(["identities"], identity_env(missing), REPO)

    assert result.returncode != 0
    assert str(missing) in result.stderr and "IDENTITY_MAP" in result.stderr
