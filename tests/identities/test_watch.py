from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable

import pytest

from bot.errors import IdentityMapError
from bot.identities.model import KeyIdentity
from bot.identities.watch import IdentityMapHolder
from tests.identities.conftest import ENVIRON, KEYS_EXAMPLE, WriteMap

NEW_USER = 'U0NEWUSER1 = "ops-prod"\n'
# Generous: watchfiles may fall back to polling on some file systems.
PATIENCE_SECONDS = 30


async def _until(condition: Callable[[IdentityMapHolder], bool], holder: IdentityMapHolder) -> None:
    async with asyncio.timeout(PATIENCE_SECONDS):
        while not condition(holder):
            await asyncio.sleep(0.02)


@pytest.fixture
async def watching(write_map: WriteMap) -> AsyncIterator[IdentityMapHolder]:
    holder = IdentityMapHolder(write_map(KEYS_EXAMPLE), lambda: ENVIRON, debounce_ms=50)
    stop = asyncio.Event()
    task = asyncio.create_task(holder.watch(stop))
    # Let awatch set up its watch before the test edits the file.
    await asyncio.sleep(0.3)
    yield holder
    stop.set()
    await task


def test_broken_map_at_start_raises(write_map: WriteMap) -> None:
    with pytest.raises(IdentityMapError):
        IdentityMapHolder(write_map(KEYS_EXAMPLE), lambda: {})


def test_reload_puts_a_good_edit_in_force_and_logs_counts(
    write_map: WriteMap, caplog: pytest.LogCaptureFixture
) -> None:
    holder = IdentityMapHolder(write_map(KEYS_EXAMPLE), lambda: ENVIRON)
    write_map(KEYS_EXAMPLE + NEW_USER)

    with caplog.at_level(logging.INFO, logger="bot.identities.watch"):
        assert holder.reload() is True

    assert "U0NEWUSER1" in holder.current.users
    assert any("(identities: 1, users: 2, emails: 0)" in r.getMessage() for r in caplog.records)


def test_reload_keeps_the_old_map_when_the_edit_is_broken(
    write_map: WriteMap, caplog: pytest.LogCaptureFixture
) -> None:
    holder = IdentityMapHolder(write_map(KEYS_EXAMPLE), lambda: ENVIRON)
    before = holder.current
    write_map(KEYS_EXAMPLE + 'U0BROKEN01 = "ops-missing"\n')

    with caplog.at_level(logging.INFO, logger="bot.identities.watch"):
        assert holder.reload() is False

    assert holder.current is before
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "users.U0BROKEN01" in errors[0].getMessage()
    assert "'ops-missing'" in errors[0].getMessage()


async def test_editing_the_file_puts_the_new_map_in_force(watching: IdentityMapHolder) -> None:
    watching.path.write_text(KEYS_EXAMPLE + NEW_USER, encoding="utf-8")

    await _until(lambda h: "U0NEWUSER1" in h.current.users, watching)


async def test_replacing_the_file_atomically_puts_the_new_map_in_force(watching: IdentityMapHolder) -> None:
    staged = watching.path.with_name(".identities.toml.swp")
    staged.write_text(KEYS_EXAMPLE + NEW_USER, encoding="utf-8")
    os.replace(staged, watching.path)

    await _until(lambda h: "U0NEWUSER1" in h.current.users, watching)


async def test_broken_edit_keeps_the_old_map_and_logs_the_problem(
    watching: IdentityMapHolder, caplog: pytest.LogCaptureFixture
) -> None:
    before = watching.current
    caplog.set_level(logging.INFO, logger="bot.identities.watch")

    watching.path.write_text(KEYS_EXAMPLE.replace("OPS_PROD_SK", "OPS_NOWHERE_SK"), encoding="utf-8")
    await _until(lambda _h: any(r.levelno == logging.ERROR for r in caplog.records), watching)

    assert watching.current is before
    error = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert "OPS_NOWHERE_SK is not set" in error.getMessage()
    assert str(watching.path) in error.getMessage()


async def test_changes_to_other_files_in_the_directory_do_not_reload(
    watching: IdentityMapHolder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.identities.watch")

    watching.path.with_name("notes.txt").write_text("unrelated", encoding="utf-8")
    # Ten times the debounce: long enough for a wrongly matched change to be acted on.
    await asyncio.sleep(0.5)
    reloads_before_edit = [r for r in caplog.records if r.getMessage().startswith("Reloaded")]
    watching.path.write_text(KEYS_EXAMPLE + NEW_USER, encoding="utf-8")
    await _until(lambda h: "U0NEWUSER1" in h.current.users, watching)

    assert reloads_before_edit == []


def test_holder_reads_the_environment_afresh_on_reload(write_map: WriteMap) -> None:
    environ = dict(ENVIRON)
    holder = IdentityMapHolder(write_map(KEYS_EXAMPLE), lambda: environ)
    environ["OPS_PROD_AK"] = "ROTATEDACCESSKEY0001"

    assert holder.reload() is True

    identity = holder.current.identities["ops-prod"]
    assert isinstance(identity, KeyIdentity)
    assert identity.access_key == "ROTATEDACCESSKEY0001"


def test_holder_path_is_the_watched_file(write_map: WriteMap) -> None:
    path = write_map(KEYS_EXAMPLE)

    assert IdentityMapHolder(path, lambda: ENVIRON).path == path
