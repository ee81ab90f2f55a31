import pytest

from bot.slack.metadata import MAX_PRIVATE_METADATA, BadMetadata, ModalOrigin


def test_origin_round_trips():
    origin = ModalOrigin("C123", "https://hooks.slack.com/commands/T1/2/abc", 3)
    assert ModalOrigin.decode(origin.encode()) == origin


def test_oversized_response_url_is_dropped_to_fit_slack_limit():
    origin = ModalOrigin("C123", "https://x/" + "a" * 4000, 1)
    encoded = origin.encode()
    assert len(encoded) <= MAX_PRIVATE_METADATA
    assert ModalOrigin.decode(encoded) == ModalOrigin("C123", None, 1)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "{",
        "[]",
        '{"c": 1, "r": null, "n": 1}',
        '{"c": "C1", "r": 5, "n": 1}',
        '{"c": "C1", "r": null, "n": 0}',
        '{"c": "C1", "r": null, "n": true}',
        '{"c": "C1"}',
    ],
)
def test_foreign_metadata_is_refused(text):
    with pytest.raises(BadMetadata):
        ModalOrigin.decode(text)
