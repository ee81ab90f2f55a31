"""The known COC and gateway error codes, and how unreadable answers are described."""

from __future__ import annotations

import httpx
import pytest

from bot import messages
from bot.coc import answers
from bot.errors import CocError, CocUnavailable


@pytest.mark.parametrize("code", ["APIGW.0301", "APIG.0301", "APIGW.0307", "APIG.0305"])
def test_gateway_authentication_codes_mean_credentials_rejected(code: str) -> None:
    assert answers.credentials_rejected(CocError(401, code, "Incorrect IAM authentication information"))


@pytest.mark.parametrize("code", [answers.ALREADY_ENABLED, answers.TASK_NOT_FOUND, "APIGW.0308", "APIGW.0302"])
def test_other_codes_do_not_mean_credentials_rejected(code: str) -> None:
    assert not answers.credentials_rejected(CocError(400, code, "..."))


@pytest.mark.parametrize(
    "code", [answers.ALREADY_ENABLED, answers.TASK_NOT_FOUND, answers.OTHER_ACCOUNT, "APIGW.0301", "APIG.0308"]
)
def test_known_codes_have_a_hint(code: str) -> None:
    assert messages.hint(code, 400)


def test_unknown_codes_have_no_hint() -> None:
    assert messages.hint("COC.99999999", 400) is None


def test_gateway_statuses_give_a_hint_for_unknown_codes() -> None:
    assert "credentials" in (messages.hint("APIGW.0399", 401) or "")
    assert "permission" in (messages.hint("APIGW.0399", 403) or "")
    assert "throttling" in (messages.hint("APIGW.0399", 429) or "")


def test_request_id_comes_from_the_header_before_the_body() -> None:
    response = httpx.Response(401, headers={"X-Request-Id": "from-header"})

    assert answers.request_id(response, {"request_id": "from-body"}) == "from-header"
    assert answers.request_id(httpx.Response(401), {"request_id": "from-body"}) == "from-body"
    assert answers.request_id(httpx.Response(401), None) is None


def test_an_error_without_a_code_is_unavailable_with_a_short_excerpt() -> None:
    response = httpx.Response(503, content=b"<html>\r\n" + b"x" * 500)

    with pytest.raises(CocUnavailable) as unavailable:
        answers.raise_for_answer(response, answers.parse_json(response))

    assert unavailable.value.status == 503
    assert "\r" not in unavailable.value.reason
    assert len(unavailable.value.reason) < 250
