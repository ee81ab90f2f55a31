"""Task-ID validation as a property: only ``ST`` + 24 ASCII letters and digits pass.

Whatever passes goes into COC's URL path unchanged, so it must be a path segment that
needs no quoting and cannot climb out of ``/v1/schedule/task/``.
"""

from __future__ import annotations

import string
import unicodedata
from urllib.parse import quote

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.coc.tasks import InvalidTaskId, is_task_id, parse_task_id

ALNUM = string.ascii_letters + string.digits
valid_ids = st.text(alphabet=ALNUM, min_size=24, max_size=24).map(lambda tail: "ST" + tail)
PROBLEMS = (
    "it is empty",
    "it must start with ST",
    "it may hold only the letters A-Z, a-z and the digits 0-9",
)


def is_the_shape(candidate: str) -> bool:
    """The rule, written out without a regex: the oracle ``parse_task_id`` must agree with."""
    return len(candidate) == 26 and candidate.startswith("ST") and all(ch in ALNUM for ch in candidate[2:])


# Letters that look like Latin ones without normalising to them (Cyrillic, Greek).
HOMOGLYPHS = "аеорсхуАВЕКМНОРСТХΑΒΕΖΗΙΚΜΝΟΡΤΥΧ"
# Everything NFKC turns into an ASCII letter or digit: fullwidth, mathematical, circled...
NORMALISING = [
    chr(code)
    for code in range(0x80, 0x30000)
    if not 0xD800 <= code <= 0xDFFF and unicodedata.normalize("NFKC", chr(code)) in set(ALNUM)
]
lookalikes = st.sampled_from(sorted(set(HOMOGLYPHS) | set(NORMALISING)))


@given(st.text())
@example("ST" + "a" * 21 + "../")
@example("ST" + "a" * 21 + "%2F")
@example("ST" + "a" * 23 + "\x00")
@example(" ST" + "a" * 24 + "\n")
def test_a_task_id_passes_exactly_when_it_has_the_shape(value: str):
    candidate = value.strip()
    try:
        parsed = parse_task_id(value)
    except InvalidTaskId:
        assert not is_the_shape(candidate)
        assert not is_task_id(value)
    else:
        assert is_the_shape(candidate) and parsed == candidate
        assert is_task_id(value)


@given(valid_ids)
def test_every_id_of_the_shape_passes_unchanged(task_id: str):
    assert parse_task_id(task_id) == task_id


@given(valid_ids, st.integers(min_value=0, max_value=25), st.characters().filter(lambda ch: ch not in ALNUM))
def test_one_foreign_character_anywhere_is_refused(task_id: str, position: int, foreign: str):
    spoiled = task_id[:position] + foreign + task_id[position + 1 :]
    with pytest.raises(InvalidTaskId):
        parse_task_id(spoiled)


@given(valid_ids, st.integers(min_value=0, max_value=25), lookalikes)
def test_unicode_lookalikes_are_refused(task_id: str, position: int, lookalike: str):
    spoiled = task_id[:position] + lookalike + task_id[position + 1 :]
    with pytest.raises(InvalidTaskId):
        parse_task_id(spoiled)


@given(valid_ids, st.integers(min_value=-30, max_value=30).filter(lambda n: n != 0))
def test_a_wrong_length_is_refused(task_id: str, change: int):
    resized = task_id + "a" * change if change > 0 else task_id[:change]
    with pytest.raises(InvalidTaskId):
        parse_task_id(resized)


@given(st.text())
def test_whatever_passes_is_one_url_path_segment_as_it_is(value: str):
    try:
        task_id = parse_task_id(value)
    except InvalidTaskId:
        return
    assert quote(task_id, safe="") == task_id
    url = httpx.URL(f"https://coc.example/v1/schedule/task/{task_id}/enable")
    assert url.path == f"/v1/schedule/task/{task_id}/enable"
    assert url.raw_path.decode("ascii").split("/") == ["", "v1", "schedule", "task", task_id, "enable"]


@given(st.text(min_size=0, max_size=5000))
def test_the_refusal_names_the_problem_without_echoing_the_input(value: str):
    try:
        parse_task_id(value)
    except InvalidTaskId as exc:
        # The problem is shown to the Slack user; the exception text goes to logs, kept short.
        assert exc.problem in PROBLEMS or exc.problem.startswith("it must be exactly 26 characters, not ")
        assert len(str(exc)) < 200
