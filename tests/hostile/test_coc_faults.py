"""COC misbehaving: throttling, 5xx, garbage, silence, and no COC at all.

Throttling and 502/503 are retried a bounded number of times (``COC_RETRIES``, default 2),
honouring ``Retry-After``. Everything else ends in one precise message in the channel and
one finished audit record that says the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.observe import only_record
from tests.integration.stack import Stack, running_stack
from tests.peers.coc import Fault
from tests.peers.server import free_port

RETRIES = 2


def test_throttling_is_retried_after_retry_after_and_the_task_is_enabled(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.append(Fault.throttle(retry_after=1))

    stack.submit(task_id)

    text = stack.outcome(task_id).params["text"]
    calls = stack.enable_calls(task_id)
    assert [call.status for call in calls] == [429, 200]
    assert (calls[1].at - calls[0].at).total_seconds() >= 0.9
    assert "enabled scheduled task" in text and stack.coc.task(task_id).enabled
    record = only_record(stack, task_id)
    assert record["outcome"] == "enabled" and record["request_id"] == calls[1].request_id


def test_throttling_without_retry_after_is_retried_with_backoff(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.append(Fault.throttle(retry_after=None))

    stack.submit(task_id)

    stack.outcome(task_id)
    assert [call.status for call in stack.enable_calls(task_id)] == [429, 200]
    assert only_record(stack, task_id)["outcome"] == "enabled"


def test_bad_gateway_then_unavailable_are_retried_and_the_task_is_enabled(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.extend([Fault.status(502), Fault.status(503)])

    stack.submit(task_id)

    assert "enabled scheduled task" in stack.outcome(task_id).params["text"]
    assert [call.status for call in stack.enable_calls(task_id)] == [502, 503, 200]
    assert only_record(stack, task_id)["outcome"] == "enabled"


def test_throttling_that_outlasts_the_retries_is_reported_with_its_code(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.extend([Fault.throttle(retry_after=0)] * 10)

    stack.submit(task_id)

    text = stack.outcome(task_id).params["text"]
    assert len(stack.enable_calls(task_id)) == RETRIES + 1
    assert "APIG.0308" in text and "throttl" in text and not stack.coc.task(task_id).enabled
    record = only_record(stack, task_id)
    assert record["outcome"] == "failed" and record["error_code"] == "APIG.0308"


def test_unavailable_beyond_the_retries_may_have_acted_and_says_so(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.extend([Fault.status(503)] * 10)

    stack.submit(task_id)

    text = stack.outcome(task_id).params["text"]
    assert len(stack.enable_calls(task_id)) == RETRIES + 1
    assert "HTTP 503" in text and "may have been enabled anyway" in text
    record = only_record(stack, task_id)
    assert record["outcome"] == "unknown" and "HTTP 503" in record["error_msg"]


def test_a_success_status_with_a_non_json_body_is_unknown(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.append(Fault.non_json(200))

    stack.submit(task_id)

    text = stack.outcome(task_id).params["text"]
    assert len(stack.enable_calls(task_id)) == 1
    assert "HTTP 200" in text and "JSON" in text and "may have been enabled anyway" in text
    record = only_record(stack, task_id)
    assert record["outcome"] == "unknown" and "not with JSON" in record["error_msg"]


def test_a_gateway_page_instead_of_json_is_retried_then_reported(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.extend([Fault.non_json(502)] * 10)

    stack.submit(task_id)

    text = stack.outcome(task_id).params["text"]
    assert len(stack.enable_calls(task_id)) == RETRIES + 1
    assert "HTTP 502" in text and "Bad Gateway" in text
    assert only_record(stack, task_id)["outcome"] == "unknown"


def test_a_dropped_connection_is_tried_again_and_the_enable_goes_through(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.append(Fault.drop())

    stack.submit(task_id)

    text = stack.outcome(task_id).params["text"]
    assert len(stack.enable_calls(task_id)) == 2
    assert text.startswith(":white_check_mark:")
    assert only_record(stack, task_id)["outcome"] == "enabled"


def test_a_connection_that_keeps_dropping_is_unknown(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.extend([Fault.drop()] * (RETRIES + 1))

    stack.submit(task_id)

    text = stack.outcome(task_id).params["text"]
    assert len(stack.enable_calls(task_id)) == RETRIES + 1
    assert "without a complete answer" in text and "may have been enabled anyway" in text
    assert only_record(stack, task_id)["outcome"] == "unknown"


TIMEOUT = 1.0
PEER_DELAY = 6.0


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("impatient")), COC_TIMEOUT_SECONDS=str(TIMEOUT)) as running:
        yield running


def test_an_answer_slower_than_the_timeout_is_given_up_on_and_is_unknown(impatient: Stack):
    task_id = impatient.add_task()
    impatient.coc.delay = PEER_DELAY

    impatient.submit(task_id)
    posted = impatient.outcome(task_id)
    impatient.coc.delay = 0.0

    calls = impatient.enable_calls(task_id)
    # A read timeout is not retried: the first request may have enabled the task.
    assert len(calls) == 1
    assert posted.at < calls[0].at.timestamp() + PEER_DELAY
    assert "did not answer in time" in posted.params["text"] and "may have been enabled anyway" in posted.params["text"]
    record = only_record(impatient, task_id)
    assert record["outcome"] == "unknown" and "did not answer in time" in record["error_msg"]


@pytest.mark.parametrize(
    "endpoint",
    [f"http://127.0.0.1:{free_port()}", "http://nonexistent.invalid"],
    ids=["connection-refused", "dns-failure"],
)
def test_unreachable_coc_surely_did_nothing_and_says_so(tmp_path: Path, endpoint: str):
    with running_stack(tmp_path, COC_ENDPOINT=endpoint) as isolated:
        task_id = isolated.add_task()

        isolated.submit(task_id)

        text = isolated.outcome(task_id, timeout=30).params["text"]
        assert "could not be reached" in text and "never reached COC" in text
        assert "may have been enabled" not in text
        record = only_record(isolated, task_id)
        assert record["outcome"] == "failed" and "could not be reached" in record["error_msg"]
