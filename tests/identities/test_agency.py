from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import CredentialsError
from bot.identities.agency import assume_role_body, parse_credentials, session_user_name
from bot.identities.model import AgencyIdentity
from tests.identities.conftest import SANDBOX_DOMAIN

IAM_SESSION_USER = re.compile(r"[A-Za-z][A-Za-z0-9_-]{4,31}")

AGENCY = AgencyIdentity(
    name="ops-sandbox",
    domain_id=SANDBOX_DOMAIN,
    agency_name="coc-operator",
    source="ops-base",
    duration_seconds=3600,
    agency_domain_name="ops-sandbox",
)


def test_session_user_name_of_a_slack_id_is_readable() -> None:
    assert session_user_name("U012ABCDEF") == "slack-U012ABCDEF"


@given(st.text())
def test_session_user_name_always_fits_iam_rule(slack_user_id: str) -> None:
    assert IAM_SESSION_USER.fullmatch(session_user_name(slack_user_id))


@given(st.text(), st.text())
def test_different_slack_ids_get_different_session_users(first: str, second: str) -> None:
    if first != second:
        assert session_user_name(first) != session_user_name(second)


@given(st.text())
def test_session_user_name_is_stable(slack_user_id: str) -> None:
    assert session_user_name(slack_user_id) == session_user_name(slack_user_id)


def test_body_names_the_agency_account_by_name() -> None:
    body = assume_role_body(AGENCY, "slack-U012ABCDEF")

    assert body == {
        "auth": {
            "identity": {
                "methods": ["assume_role"],
                "assume_role": {
                    "agency_name": "coc-operator",
                    "domain_name": "ops-sandbox",
                    "duration_seconds": 3600,
                    "session_user": {"name": "slack-U012ABCDEF"},
                },
            }
        }
    }


def test_body_names_the_agency_account_by_id() -> None:
    by_id = AgencyIdentity(
        name="ops-sandbox",
        domain_id=SANDBOX_DOMAIN,
        agency_name="coc-operator",
        source="ops-base",
        duration_seconds=900,
        agency_domain_id=SANDBOX_DOMAIN,
    )

    assume_role = assume_role_body(by_id, "slack-U1")["auth"]["identity"]["assume_role"]

    assert assume_role["domain_id"] == SANDBOX_DOMAIN
    assert "domain_name" not in assume_role


def _answer(status: int, body: object = None, *, content: bytes | None = None) -> httpx.Response:
    if content is not None:
        return httpx.Response(status, content=content, headers={"content-type": "text/html"})
    return httpx.Response(status, json=body)


def test_credential_answer_becomes_temporary_credentials() -> None:
    credential = {
        "access": "TEMPACCESS0001",
        "secret": "temp-secret",
        "securitytoken": "temp-token",
        "expires_at": "2030-01-01T10:00:00.000000Z",
    }

    credentials = parse_credentials("ops-sandbox", _answer(201, {"credential": credential}))

    assert credentials.access_key == "TEMPACCESS0001"
    assert credentials.secret_key.get_secret_value() == "temp-secret"
    assert credentials.security_token is not None
    assert credentials.security_token.get_secret_value() == "temp-token"
    assert credentials.expires_at == datetime(2030, 1, 1, 10, tzinfo=UTC)
    assert "temp-secret" not in repr(credentials)
    assert "temp-token" not in repr(credentials)


@pytest.mark.parametrize(
    ("answer", "code", "said"),
    [
        (
            _answer(403, {"error": {"code": "IAM.0003", "message": "Policy doesn't allow it."}}),
            "IAM.0003",
            "IAM refused with HTTP 403 IAM.0003: Policy doesn't allow it.",
        ),
        (
            _answer(400, {"error_code": "IAM.0007", "error_msg": "Request parameter name is invalid."}),
            "IAM.0007",
            "IAM refused with HTTP 400 IAM.0007: Request parameter name is invalid.",
        ),
        (
            _answer(403, {"error": {"code": 403, "message": "You are not authorized.", "title": "Forbidden"}}),
            "403",
            "HTTP 403 403: You are not authorized.",
        ),
        (_answer(500, {"unexpected": True}), None, "IAM failed with HTTP 500 an error in an unknown shape"),
        (_answer(502, content=b"<html>Bad Gateway</html>"), None, "HTTP 502 with a body that is not JSON"),
        (_answer(201, {"credential": {"access": "A"}}), None, "lacks credential.secret"),
        (_answer(201, {"token": {}}), None, "has no credential object"),
    ],
)
def test_iam_failures_become_credentials_errors_in_plain_words(
    answer: httpx.Response, code: str | None, said: str
) -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_credentials("ops-sandbox", answer)

    assert caught.value.identity == "ops-sandbox"
    assert caught.value.code == code
    assert said in str(caught.value)
    assert "'ops-sandbox'" in str(caught.value)


def test_a_bad_expiry_time_is_named() -> None:
    credential = {"access": "A", "secret": "never-shown", "securitytoken": "hidden", "expires_at": "tomorrow"}

    with pytest.raises(CredentialsError) as caught:
        parse_credentials("ops-sandbox", _answer(201, {"credential": credential}))

    assert "'tomorrow' is not an ISO 8601 time" in str(caught.value)
    assert "never-shown" not in str(caught.value)
    assert "hidden" not in str(caught.value)
