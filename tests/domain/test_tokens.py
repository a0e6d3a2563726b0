"""Unsubscribe tokens: signed, refused cleanly when garbled, readable across key rotation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.domain.tokens import make_unsubscribe_token, read_unsubscribe_token
from notifier.errors import InputError

KEY = "current-key-0123456789abcdef"
OLD_KEY = "old-key-0123456789abcdef"


def test_a_token_reads_back_to_its_enterprise_and_channel() -> None:
    token = make_unsubscribe_token(KEY, enterprise_id=42, channel="sms")
    assert read_unsubscribe_token(KEY, token) == (42, "sms")
    assert token.isascii() and "/" not in token and "+" not in token


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = make_unsubscribe_token("someone-else", enterprise_id=42, channel="sms")
    with pytest.raises(InputError, match="token"):
        read_unsubscribe_token(KEY, token)


@pytest.mark.parametrize(
    "token",
    ["1.sms.签名", "1.sms.\udc80", "签名", "", "1.sms", "..", "1.sms." + "A" * 1_000_000, "\x00"],
)
def test_garbled_or_non_ascii_tokens_are_refused_as_input_errors(token: str) -> None:
    with pytest.raises(InputError):
        read_unsubscribe_token(KEY, token)


def test_a_token_made_with_the_old_key_still_reads_when_it_is_second_in_the_list() -> None:
    token = make_unsubscribe_token(OLD_KEY, enterprise_id=7, channel="email")
    assert read_unsubscribe_token([KEY, OLD_KEY], token) == (7, "email")
    assert make_unsubscribe_token([KEY, OLD_KEY], enterprise_id=7, channel="email") == (
        make_unsubscribe_token(KEY, enterprise_id=7, channel="email")
    )
    with pytest.raises(InputError):
        read_unsubscribe_token([KEY], token)


@given(
    enterprise_id=st.integers(min_value=1, max_value=2**63 - 1),
    channel=st.sampled_from(["sms", "email", "webhook"]),
    old_keys=st.lists(st.text(min_size=1), max_size=3),
)
def test_any_token_made_with_a_key_in_the_list_reads_back(enterprise_id, channel, old_keys):
    for key in old_keys:
        token = make_unsubscribe_token(key, enterprise_id=enterprise_id, channel=channel)
        assert read_unsubscribe_token([KEY, *old_keys], token) == (enterprise_id, channel)


@given(
    st.text()
    | st.text(alphabet=st.characters(codec="ascii"))
    | st.from_regex(r"\A[0-9]+\.[a-z]+\.[A-Za-z0-9_-]*\Z")
)
def test_any_text_read_as_a_token_gives_a_result_or_an_input_error(token: str) -> None:
    try:
        enterprise_id, channel = read_unsubscribe_token([KEY, OLD_KEY], token)
    except InputError:
        return
    assert isinstance(enterprise_id, int) and isinstance(channel, str)
