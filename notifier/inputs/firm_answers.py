"""What a firm types on its policy page: the reason a policy is not for it, and a question
with a call-back number. Checked by the text rules, bounded, refused naming the field in
Chinese first."""

from __future__ import annotations

from dataclasses import dataclass

from notifier.domain.text_rules import check_line, check_text
from notifier.errors import InputError
from notifier.inputs.phones import PhoneInvalid, parse_phone

MAX_REASON_LENGTH, MAX_QUESTION_LENGTH, MAX_CALLBACK_LENGTH = 500, 1000, 40


@dataclass(frozen=True)
class Question:
    """A firm's question and the number to call it back on (None: not given)."""

    text: str
    callback: str | None


def read_reason(raw: str) -> str:
    """与我无关's optional reason ("" when blank).

    Raises:
        InputError: naming ``reason``: too long or holding control characters.
    """
    return check_text(raw.replace("\r\n", "\n").strip(), "reason", limit=MAX_REASON_LENGTH)


def read_question(text: str, callback: str) -> Question:
    """我有疑问's question (required) and call-back number (optional, read as the register
    reads a phone).

    Raises:
        InputError: naming ``question`` or ``callback``.
    """
    question = check_text(
        text.replace("\r\n", "\n").strip(), "question", limit=MAX_QUESTION_LENGTH
    )
    if not question:
        raise InputError("question: 请填写问题 / write your question", field="question")
    number = check_line(callback.strip(), "callback", limit=MAX_CALLBACK_LENGTH)
    if number:
        try:
            parse_phone(number)
        except PhoneInvalid as exc:
            raise InputError(f"callback: {exc}", field="callback") from None
    return Question(text=question, callback=number or None)
