"""A message's class as the carriers see it: a notice (通知) or marketing (营销).

Chinese carriers and SMS vendors treat the two apart: marketing messages carry an opt-out
text (拒收请回复R), go out only inside the marketing hours, and never to a number that refused
them; notices have their own daily cap per number. Policies and campaigns each carry one
class, and every delivery made for them carries it too.
"""

from __future__ import annotations

import enum


class MessageClass(enum.StrEnum):
    """Notice (通知) or marketing (营销)."""

    NOTICE = "notice"
    MARKETING = "marketing"


# The words a register, a policy file or a form may use for each class.
WORDS: dict[str, MessageClass] = {
    "notice": MessageClass.NOTICE,
    "通知": MessageClass.NOTICE,
    "通知类": MessageClass.NOTICE,
    "marketing": MessageClass.MARKETING,
    "营销": MessageClass.MARKETING,
    "营销类": MessageClass.MARKETING,
}

CHINESE: dict[MessageClass, str] = {MessageClass.NOTICE: "通知", MessageClass.MARKETING: "营销"}


def message_class(value: str | None) -> MessageClass | None:
    """The class ``value`` names (English or Chinese, any case, spaces ignored); None: unknown.

    An empty value is a notice, the class every message had before classes were kept.
    """
    text = (value or "").strip().lower()
    if not text:
        return MessageClass.NOTICE
    return WORDS.get(text)


def with_opt_out(text: str, opt_out: str) -> str:
    """A marketing SMS's text with its opt-out (拒收请回复R) at the end, unless it holds it.

    After a link (any ASCII character) a space comes first, so a phone does not read the
    opt-out as part of the link."""
    if not opt_out or opt_out in text:
        return text
    text = text.rstrip()
    return f"{text} {opt_out}" if text and text[-1].isascii() else f"{text}{opt_out}"


def class_of(value: str | None) -> MessageClass:
    """The stored class (a column's value), a notice when unknown."""
    return message_class(value) or MessageClass.NOTICE
