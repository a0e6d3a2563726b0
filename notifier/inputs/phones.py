"""Phone numbers as the readers take them: the register's contacts and a policy's 咨询电话.

One reading (libphonenumber, mainland China by default) so a number the register takes is a
number a policy takes, and both refuse the same way.
"""

from __future__ import annotations

import phonenumbers

DEFAULT_PHONE_REGION = "CN"


class PhoneInvalid(ValueError):
    """Not a phone number: the reason in Chinese (``zh``) and English (``en``)."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


def parse_phone(raw: str, *, service_numbers: bool = False) -> phonenumbers.PhoneNumber:
    """The number ``raw`` writes (``0574-86781234``, ``138 0013 8000``, ``+86...``);
    ``service_numbers`` also takes the short numbers a hotline has (``12345``).

    Raises:
        PhoneInvalid: not a phone number, or not a valid one (wrong length, unknown prefix).
    """
    try:
        number = phonenumbers.parse(raw, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        raise PhoneInvalid("不是电话号码", "not a phone number") from None
    if phonenumbers.is_valid_number(number):
        return number
    if service_numbers and phonenumbers.is_valid_short_number_for_region(
        number, DEFAULT_PHONE_REGION
    ):
        return number
    raise PhoneInvalid(
        "不是有效的电话号码（位数或号段不对）",
        "not a valid phone number (wrong length or unknown prefix)",
    )
