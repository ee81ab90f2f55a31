"""Fixtures for every test that drives the bot as production runs it."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.stack import Stack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One bot per test module; tests use their own tasks, so they do not disturb each other."""
    with running_stack(Path(tmp_path_factory.mktemp("bot"))) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults a test injected into the peers end with it."""
    yield
    if "stack" in request.fixturenames:
        running: Stack = request.getfixturevalue("stack")
        running.coc.faults.clear()
        running.coc.delay = 0.0
        running.iam.clear_faults()
        running.iam.delay = 0.0
        running.slack.channel_errors.clear()
        running.slack.delay.clear()
