from collections.abc import Iterator

import pytest

from tests.hostile.forge import Forge
from tests.integration.stack import Stack


@pytest.fixture(scope="module")
def forge(stack: Stack) -> Iterator[Forge]:
    view = stack.driver.open_modal("")
    maker = Forge(stack, view)
    yield maker
    maker.close()
