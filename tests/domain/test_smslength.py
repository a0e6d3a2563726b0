"""How an SMS is counted and split into parts."""

from __future__ import annotations

import pytest

from notifier.domain.sms_length import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SmsCount,
    check_sms_length,
    count_sms,
)
from notifier.errors import InputError, TemplateError

CN_MOBILE = "13800138000"
UK_MOBILE = "+447700900123"


@pytest.mark.parametrize(
    ("length", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (500, 8)]
)
def test_china_counts_every_character_once_and_splits_over_seventy_into_parts_of_sixty_seven(
    length: int, parts: int
) -> None:
    assert count_sms("政" * length, to=CN_MOBILE) == SmsCount(length, parts, "cn")


def test_china_counts_ascii_like_chinese() -> None:
    assert count_sms("a" * 71, to=CN_MOBILE) == SmsCount(71, 2, "cn")


def test_an_emoji_counts_two_in_china() -> None:
    assert count_sms("好😀", to=CN_MOBILE).length == 3


def test_a_number_with_plus_eighty_six_is_counted_the_chinese_way() -> None:
    assert count_sms("a" * 100, to="+86 138 0013 8000", region="GB").encoding == "cn"


def test_no_recipient_is_counted_as_a_number_of_the_default_region() -> None:
    assert count_sms("a", to=None).encoding == "cn"
    assert count_sms("a", to=None, region="GB").encoding == "gsm7"


@pytest.mark.parametrize(("length", "parts"), [(160, 1), (161, 2), (306, 2), (307, 3)])
def test_gsm7_fits_one_hundred_sixty_then_splits_into_parts_of_one_hundred_fifty_three(
    length: int, parts: int
) -> None:
    assert count_sms("a" * length, to=UK_MOBILE) == SmsCount(length, parts, "gsm7")


def test_gsm7_extension_characters_count_two() -> None:
    count = count_sms("^{}\\[~]|€\f", to=UK_MOBILE)
    assert count == SmsCount(20, 1, "gsm7")
    assert count_sms("a" * 159 + "€", to=UK_MOBILE).parts == 2


def test_gsm7_tables_are_the_full_gsm_03_38_alphabet() -> None:
    assert len(GSM7_BASIC) == 127  # 128 code points less the escape
    assert len(GSM7_EXTENSION) == 10
    assert {"@", "£", "Δ", "ß", "¡", "§", "¿", "à", "\n", "\r"} <= GSM7_BASIC
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(("length", "parts"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_a_chinese_character_to_a_foreign_number_switches_to_ucs2(length: int, parts: int) -> None:
    text = "中" + "a" * (length - 1)
    assert count_sms(text, to=UK_MOBILE) == SmsCount(length, parts, "ucs2")


def test_an_emoji_counts_two_in_ucs2() -> None:
    assert count_sms("hi😀", to=UK_MOBILE) == SmsCount(4, 1, "ucs2")


def test_a_text_that_is_not_a_phone_number_is_refused() -> None:
    with pytest.raises(InputError, match="not a phone number"):
        count_sms("hello", to="not a number")


def test_an_sms_over_the_maximum_length_is_refused() -> None:
    with pytest.raises(TemplateError, match="SMS is 501 characters, over the maximum of 500"):
        check_sms_length(count_sms("政" * 501, to=CN_MOBILE), max_length=500)


def test_an_sms_at_the_maximum_length_passes() -> None:
    check_sms_length(count_sms("政" * 500, to=CN_MOBILE), max_length=500)
