from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import IdentityMapError
from bot.identities.loader import load_identity_map
from bot.identities.model import AgencyIdentity, Guardrails, KeyIdentity
from tests.identities.conftest import (
    AGENCY_EXAMPLE,
    BASE_DOMAIN,
    ENVIRON,
    KEYS_EXAMPLE,
    SANDBOX_DOMAIN,
    WriteMap,
)

KEYS_HEAD = f"""\
[identities.ops-base]
domain_id = "{BASE_DOMAIN}"
access_key_env = "OPS_BASE_AK"
secret_key_env = "OPS_BASE_SK"
"""


def _agency(**fields: str | int) -> str:
    defaults: dict[str, str | int] = {
        "domain_id": SANDBOX_DOMAIN,
        "agency_name": "coc-operator",
        "agency_domain_name": "ops-sandbox",
        "source": "ops-base",
        "duration_seconds": 3600,
    }
    defaults.update(fields)
    lines = [
        f"{key} = {value!r}".replace("'", '"') if isinstance(value, str) else f"{key} = {value}"
        for key, value in defaults.items()
        if value != ""
    ]
    return KEYS_HEAD + "\n[identities.ops-sandbox]\n" + "\n".join(lines) + "\n"


def test_keys_example_loads_as_written(write_map: WriteMap) -> None:
    path = write_map(KEYS_EXAMPLE)

    identity_map = load_identity_map(path, ENVIRON)

    identity = identity_map.identities["ops-prod"]
    assert isinstance(identity, KeyIdentity)
    assert identity.domain_id == BASE_DOMAIN
    assert (identity.access_key_env, identity.secret_key_env) == ("OPS_PROD_AK", "OPS_PROD_SK")
    assert identity.access_key == ENVIRON["OPS_PROD_AK"]
    assert identity.secret_key.get_secret_value() == ENVIRON["OPS_PROD_SK"]
    assert identity.guardrails == Guardrails()
    assert identity_map.users == {"U012ABCDEF": "ops-prod"}
    assert identity_map.emails == {}
    assert identity_map.path == path


def test_agency_example_loads_as_written(write_map: WriteMap) -> None:
    identity_map = load_identity_map(write_map(AGENCY_EXAMPLE), ENVIRON)

    agency = identity_map.identities["ops-sandbox"]
    assert agency == AgencyIdentity(
        name="ops-sandbox",
        domain_id=SANDBOX_DOMAIN,
        agency_name="coc-operator",
        source="ops-base",
        duration_seconds=3600,
        agency_domain_name="ops-sandbox",
    )
    assert identity_map.source_of(agency) is identity_map.identities["ops-base"]


def test_guardrails_emails_and_workspace_ids_are_read(write_map: WriteMap) -> None:
    text = KEYS_EXAMPLE.replace(
        'secret_key_env = "OPS_PROD_SK"',
        'secret_key_env = "OPS_PROD_SK"\nchannels = ["C0PROD0001", "G0PRIV0001"]\nrequire_ticket = true',
    )
    text += '"Ops.Lead@Example.COM" = "ops-prod"\nW0GRIDUSER = "ops-prod"\n'

    identity_map = load_identity_map(write_map(text), ENVIRON)

    guardrails = identity_map.identities["ops-prod"].guardrails
    assert guardrails == Guardrails(channels=frozenset({"C0PROD0001", "G0PRIV0001"}), require_ticket=True)
    assert identity_map.emails == {"ops.lead@example.com": "ops-prod"}
    assert identity_map.users == {"U012ABCDEF": "ops-prod", "W0GRIDUSER": "ops-prod"}


def test_agency_by_domain_id_and_default_duration(write_map: WriteMap) -> None:
    text = _agency(agency_domain_name="", agency_domain_id=SANDBOX_DOMAIN, duration_seconds="")

    agency = load_identity_map(write_map(text), ENVIRON).identities["ops-sandbox"]

    assert isinstance(agency, AgencyIdentity)
    assert agency.agency_domain_id == SANDBOX_DOMAIN
    assert agency.agency_domain_name is None
    assert agency.duration_seconds == 900


def test_env_values_are_stripped_of_surrounding_whitespace(write_map: WriteMap) -> None:
    environ = {"OPS_PROD_AK": " PRODACCESSKEY0000001\n", "OPS_PROD_SK": "prod-secret\n"}

    identity = load_identity_map(write_map(KEYS_EXAMPLE), environ).identities["ops-prod"]

    assert isinstance(identity, KeyIdentity)
    assert identity.access_key == "PRODACCESSKEY0000001"
    assert identity.secret_key.get_secret_value() == "prod-secret"


def test_missing_file_names_the_path_and_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"

    with pytest.raises(IdentityMapError) as caught:
        load_identity_map(path, ENVIRON)

    assert str(path) in str(caught.value)
    assert "does not exist" in str(caught.value)
    assert "IDENTITY_MAP" in str(caught.value)


def test_invalid_toml_names_line_and_column(write_map: WriteMap) -> None:
    path = write_map('[identities.ops-prod]\ndomain_id = "unterminated\n')

    with pytest.raises(IdentityMapError) as caught:
        load_identity_map(path, ENVIRON)

    message = str(caught.value)
    assert str(path) in message
    assert "not valid TOML" in message
    assert "line 2" in message
    assert "column" in message


ERROR_CASES = [
    pytest.param(
        KEYS_EXAMPLE.replace("access_key_env", "acess_key_env"),
        ENVIRON,
        ["identities.ops-prod.acess_key_env", "not a known key", "fix its spelling"],
        id="unknown-key",
    ),
    pytest.param(
        KEYS_EXAMPLE + '\n[roles]\nadmin = "x"\n',
        ENVIRON,
        ["roles", "not a known table"],
        id="unknown-table",
    ),
    pytest.param(
        KEYS_EXAMPLE.replace('domain_id = "0123456789abcdef0123456789abcdef"', ""),
        ENVIRON,
        ["identities.ops-prod.domain_id", "is required; add it"],
        id="missing-domain-id",
    ),
    pytest.param(
        KEYS_EXAMPLE.replace('secret_key_env = "OPS_PROD_SK"', ""),
        ENVIRON,
        ["identities.ops-prod.secret_key_env", "is required"],
        id="missing-secret-key-env",
    ),
    pytest.param(
        KEYS_EXAMPLE,
        {"OPS_PROD_AK": ENVIRON["OPS_PROD_AK"]},
        ["identities.ops-prod.secret_key_env", "OPS_PROD_SK is not set", "set it to"],
        id="env-not-set",
    ),
    pytest.param(
        KEYS_EXAMPLE,
        {"OPS_PROD_AK": "   ", "OPS_PROD_SK": ENVIRON["OPS_PROD_SK"]},
        ["identities.ops-prod.access_key_env", "OPS_PROD_AK is empty", "set it to"],
        id="env-empty",
    ),
    pytest.param(
        KEYS_EXAMPLE.replace('U012ABCDEF = "ops-prod"', 'U012ABCDEF = "ops-stage"'),
        ENVIRON,
        ["users.U012ABCDEF", "'ops-stage'", "not defined", "add [identities.ops-stage]"],
        id="user-names-unknown-identity",
    ),
    pytest.param(
        _agency(source="ops-missing"),
        ENVIRON,
        ["identities.ops-sandbox.source", "'ops-missing'", "not an identity in this file"],
        id="unknown-source",
    ),
    pytest.param(
        _agency()
        + f"""
[identities.ops-nested]
domain_id = "{SANDBOX_DOMAIN}"
agency_name = "other"
agency_domain_name = "ops-sandbox"
source = "ops-sandbox"
""",
        ENVIRON,
        ["identities.ops-nested.source", "itself an agency", "access_key_env"],
        id="source-is-agency",
    ),
    pytest.param(
        _agency(agency_domain_id=SANDBOX_DOMAIN),
        ENVIRON,
        ["identities.ops-sandbox", "exactly one of agency_domain_name and agency_domain_id"],
        id="both-agency-domains",
    ),
    pytest.param(
        _agency(agency_domain_name=""),
        ENVIRON,
        ["identities.ops-sandbox", "exactly one of agency_domain_name and agency_domain_id"],
        id="neither-agency-domain",
    ),
    pytest.param(
        _agency(duration_seconds=899),
        ENVIRON,
        ["identities.ops-sandbox.duration_seconds", "899", "900 to 86400"],
        id="duration-too-short",
    ),
    pytest.param(
        _agency(duration_seconds=86401),
        ENVIRON,
        ["identities.ops-sandbox.duration_seconds", "86401", "900 to 86400"],
        id="duration-too-long",
    ),
    pytest.param(
        KEYS_EXAMPLE.replace("0123456789abcdef0123456789abcdef", "0123456789ABCDEF"),
        ENVIRON,
        ["identities.ops-prod.domain_id", "'0123456789ABCDEF'", "32 lower-case hexadecimal"],
        id="malformed-domain-id",
    ),
    pytest.param(
        _agency(agency_domain_name="", agency_domain_id="not-hex"),
        ENVIRON,
        ["identities.ops-sandbox.agency_domain_id", "'not-hex'", "32 lower-case hexadecimal"],
        id="malformed-agency-domain-id",
    ),
    pytest.param(
        _agency(agency_domain_name="", agency_domain_id=BASE_DOMAIN),
        ENVIRON,
        ["identities.ops-sandbox.domain_id", "differs from agency_domain_id"],
        id="agency-domain-id-differs",
    ),
    pytest.param(
        KEYS_EXAMPLE + 'jane = "ops-prod"\n',
        ENVIRON,
        ["users.jane", "neither a Slack user ID", "nor an email address"],
        id="malformed-user-key",
    ),
    pytest.param(
        KEYS_EXAMPLE.replace('secret_key_env = "OPS_PROD_SK"', 'secret_key_env = "OPS_PROD_SK"\nchannels = ["#prod"]'),
        ENVIRON,
        ["identities.ops-prod.channels", "'#prod' is not a channel ID", "not its name"],
        id="channel-name-not-id",
    ),
    pytest.param(
        KEYS_EXAMPLE.replace('secret_key_env = "OPS_PROD_SK"', 'secret_key_env = "OPS_PROD_SK"\nchannels = []'),
        ENVIRON,
        ["identities.ops-prod.channels", "allow no channel", "remove the key"],
        id="empty-channels",
    ),
    pytest.param(
        KEYS_EXAMPLE.replace(
            'secret_key_env = "OPS_PROD_SK"', 'secret_key_env = "OPS_PROD_SK"\nrequire_ticket = "yes"'
        ),
        ENVIRON,
        ["identities.ops-prod.require_ticket", "valid boolean"],
        id="wrong-type",
    ),
    pytest.param(
        KEYS_EXAMPLE.replace('secret_key_env = "OPS_PROD_SK"', 'secret_key_env = "OPS_PROD_SK"\nsource = "x"'),
        ENVIRON,
        ["identities.ops-prod", "mixes key fields", "keep one set"],
        id="keys-and-agency-mixed",
    ),
    pytest.param(
        KEYS_EXAMPLE + '"a@example.com" = "ops-prod"\n"A@example.com" = "ops-other"\n'
        f'[identities.ops-other]\ndomain_id = "{BASE_DOMAIN}"\n'
        'access_key_env = "OPS_PROD_AK"\nsecret_key_env = "OPS_PROD_SK"\n',
        ENVIRON,
        ['users."A@example.com"', "emails are compared without case"],
        id="duplicate-email",
    ),
]


@pytest.mark.parametrize(("text", "environ", "expected"), ERROR_CASES)
def test_each_problem_names_file_key_and_fix_but_no_env_value(
    write_map: WriteMap, text: str, environ: dict[str, str], expected: list[str]
) -> None:
    path = write_map(text)

    with pytest.raises(IdentityMapError) as caught:
        load_identity_map(path, environ)

    message = str(caught.value)
    assert str(path) in message
    for fragment in expected:
        assert fragment in message
    for value in environ.values():
        if value.strip():
            assert value not in message


def test_every_problem_is_reported_at_once(write_map: WriteMap) -> None:
    text = KEYS_EXAMPLE.replace("access_key_env", "acces_key_env").replace(BASE_DOMAIN, "abc") + 'nobody = "ops-prod"\n'

    with pytest.raises(IdentityMapError) as caught:
        load_identity_map(write_map(text), {})

    message = str(caught.value)
    assert "has 5 problems" in message
    assert "identities.ops-prod.acces_key_env: is not a known key" in message
    assert "identities.ops-prod.access_key_env: is required" in message
    assert "identities.ops-prod.domain_id: 'abc'" in message
    assert "OPS_PROD_SK is not set" in message
    assert "users.nobody" in message


def test_a_secret_never_appears_even_when_other_fields_are_wrong(write_map: WriteMap) -> None:
    text = KEYS_EXAMPLE.replace(BASE_DOMAIN, "bad") + 'U0TWO = "ops-none"\n'

    with pytest.raises(IdentityMapError) as caught:
        load_identity_map(write_map(text), ENVIRON)

    assert ENVIRON["OPS_PROD_SK"] not in str(caught.value)
    assert ENVIRON["OPS_PROD_AK"] not in str(caught.value)
