from bot import messages
from bot.identities.resolver import RefusalReason, Refused
from bot.slack.refusals import refusal_inline, refusal_text


def test_unmapped_user_is_told_their_id_and_whom_to_ask():
    text = refusal_text(Refused(RefusalReason.UNMAPPED), "U0NOBODY01")
    assert "U0NOBODY01" in text and "admin" in text


def test_channel_refusal_names_the_identity_and_where_it_may_be_used():
    refused = Refused(RefusalReason.CHANNEL_NOT_ALLOWED, allowed_channels=("C0OPS00001",), identity="ops-prod")
    assert "<#C0OPS00001>" in refusal_text(refused, "U1") and "ops-prod" in refusal_inline(refused, "U1")


def test_a_failed_email_lookup_asks_to_try_again_rather_than_calling_the_user_unmapped():
    refused = Refused(RefusalReason.LOOKUP_FAILED)
    assert refusal_text(refused, "U1") == messages.LOOKUP_FAILED
    assert refusal_inline(refused, "U1") == messages.LOOKUP_FAILED_INLINE
    assert "not mapped" not in refusal_text(refused, "U1")
