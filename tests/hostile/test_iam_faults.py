"""IAM refusing or failing an agency identity's ``assume_role``: COC is never called.

``U0SANDBOX1`` is mapped to ``ops-sandbox``, an agency assumed with ``ops-base``'s keys.
The user is told which identity could not get credentials and what IAM said, and the
source identity's own keys are never used against COC instead.
"""

from __future__ import annotations

import pytest

from tests.hostile.observe import only_record
from tests.integration.stack import SANDBOX_DOMAIN, SANDBOX_OPERATOR, Stack

RETRIES = 2


def _enable_as_sandbox(stack: Stack) -> tuple[str, str]:
    task_id = stack.add_task(domain_id=SANDBOX_DOMAIN)
    stack.submit(task_id, user_id=SANDBOX_OPERATOR)
    return task_id, stack.outcome(task_id).params["text"]


def test_iam_refusal_names_the_identity_and_what_iam_said(stack: Stack):
    stack.iam.refuse("IAM.0003", "Policy doesn't allow iam:tokens:assume to be performed.")

    task_id, text = _enable_as_sandbox(stack)

    assert "*ops-sandbox*" in text and "nothing was sent to COC" in text
    assert "IAM.0003" in text and "Policy doesn't allow iam:tokens:assume" in text
    assert stack.enable_calls(task_id) == []
    record = only_record(stack, task_id)
    assert record["outcome"] == "failed" and record["identity"] == "ops-sandbox"
    assert record["error_code"] == "IAM.0003" and "Policy doesn't allow" in record["error_msg"]


@pytest.mark.parametrize(("status", "tries"), [(500, 1), (503, RETRIES + 1)], ids=["500-not-retried", "503-retried"])
def test_iam_server_error_is_reported_and_nothing_reaches_coc(stack: Stack, status: int, tries: int):
    calls_before = len(stack.iam.calls())
    stack.iam.fail(status, times=None)

    task_id, text = _enable_as_sandbox(stack)

    assert len(stack.iam.calls()) - calls_before == tries
    assert "*ops-sandbox*" in text and f"IAM failed with HTTP {status}" in text
    assert stack.enable_calls(task_id) == []
    record = only_record(stack, task_id)
    assert record["outcome"] == "failed" and f"HTTP {status}" in record["error_msg"]


def test_iam_answering_a_page_instead_of_json_is_reported(stack: Stack):
    stack.iam.answer_non_json(times=None)

    task_id, text = _enable_as_sandbox(stack)

    assert "*ops-sandbox*" in text and "not JSON" in text
    assert stack.enable_calls(task_id) == []
    assert only_record(stack, task_id)["outcome"] == "failed"


def test_the_source_identitys_keys_never_reach_coc_when_iam_refuses(stack: Stack):
    stack.iam.refuse()

    _enable_as_sandbox(stack)

    assert stack.iam.issued() == []
    # Nothing in this module gets credentials, so COC must have seen no request at all.
    assert stack.coc.calls == []
