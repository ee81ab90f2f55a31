"""The identity map in force, reloaded when its file changes.

A broken edit never takes effect: the last good map stays in force and the error, naming
every problem, is logged so the admin can fix the file without restarting the bot.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path

from watchfiles import Change, awatch

from bot.errors import IdentityMapError
from bot.identities.loader import load_identity_map
from bot.identities.model import IdentityMap

logger = logging.getLogger(__name__)

EnvironFactory = Callable[[], Mapping[str, str]]

# Kubernetes mounts a ConfigMap as symlinks into a "..data" directory and updates it by
# swapping that link, so the watched file itself never shows up as changed.
_KUBERNETES_DATA_LINK = "..data"


class IdentityMapHolder:
    """Holds the current :class:`IdentityMap`; :meth:`watch` keeps it in step with the file.

    The first load happens here and raises :class:`IdentityMapError`, so that a broken map
    stops start-up.
    """

    def __init__(
        self,
        path: Path,
        environ_factory: EnvironFactory = lambda: os.environ,
        *,
        debounce_ms: int = 1600,
    ) -> None:
        self._path = path
        self._environ_factory = environ_factory
        self._debounce_ms = debounce_ms
        self._current = load_identity_map(path, environ_factory())

    @property
    def path(self) -> Path:
        return self._path

    @property
    def current(self) -> IdentityMap:
        return self._current

    def reload(self) -> bool:
        """Load the file again; keep the map in force and log the error if it is broken."""
        try:
            identity_map = load_identity_map(self._path, self._environ_factory())
        except IdentityMapError as exc:
            logger.error("Kept the previous identity map because the edited one is unusable. %s", exc)
            return False

        self._current = identity_map
        logger.info(
            "Reloaded identity map %s (identities: %d, users: %d, emails: %d)",
            self._path,
            len(identity_map.identities),
            len(identity_map.users),
            len(identity_map.emails),
        )
        return True

    async def watch(self, stop: asyncio.Event) -> None:
        """Reload on every change to the file until ``stop`` is set."""
        # The directory is watched, not the file: editors and deploy tools that write a new
        # file and rename it over the old one would leave a file watch on a deleted inode.
        directory = self._path.parent.resolve()
        logger.info("Watching identity map %s for changes", self._path)
        async for _changes in awatch(
            directory,
            watch_filter=self._concerns_map,
            stop_event=stop,
            debounce=self._debounce_ms,
            recursive=False,
        ):
            self.reload()

    def _concerns_map(self, _change: Change, path: str) -> bool:
        name = Path(path).name
        return name in (self._path.name, _KUBERNETES_DATA_LINK)
