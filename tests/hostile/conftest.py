from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.forge import Forge
from tests.integration.stack import Stack, running_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One bot per test module, started as production starts it; tests use their own tasks."""
    with running_stack(Path(tmp_path_factory.mktemp("bot"))) as running:
        yield running


@pytest.fixture(scope="module")
def forge(stack: Stack) -> Iterator[Forge]:
    view = stack.driver.open_modal("")
    maker = Forge(stack, view)
    yield maker
    maker.close()


@pytest.fixture(autouse=True)
def _fresh_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "stack" in request.fixturenames:
        running: Stack = request.getfixturevalue("stack")
        running.coc.faults.clear()
        running.coc.delay = 0.0
        running.iam.clear_faults()
        running.iam.delay = 0.0
        running.slack.channel_errors.clear()
        running.slack.delay.clear()
