"""How an SMS provider composes a text: its signature, its length limit, its number region.

These are options of the SMS account, not of the templates: another gateway may need another
signature (carriers register one per account) or a shorter limit.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from notifier.channel_names import SMS
from notifier.channels.base import Composed, Provider
from notifier.channels.options import KindOptions
from notifier.smslength import check_sms_length, count_sms

DEFAULT_SIGNATURE = "【北仑企服】"
MAX_SMS_LENGTH = 500


class SmsFormat(KindOptions):
    """The SMS options every SMS provider takes (``signature``, ``max_length``,
    ``default_region``)."""

    signature: str = DEFAULT_SIGNATURE
    max_length: int = Field(default=MAX_SMS_LENGTH, ge=1, le=MAX_SMS_LENGTH)
    default_region: str = "CN"

    def compose(self, text: str, *, to: str | None) -> Composed:
        """Squash whitespace, prefix the signature, count as the carrier bills it.

        Parameters:
            text: the rendered template.
            to: the recipient's number, or None to count as a number of ``default_region``.

        Raises:
            TemplateError: the SMS is longer than ``max_length``; the message gives the length.
            InputError: ``to`` is not a phone number.
        """
        composed = self.signature + " ".join(text.split())
        count = count_sms(composed, to=to, region=self.default_region)
        check_sms_length(count, max_length=self.max_length)
        return Composed(text=composed, sms_count=count)


class SmsProvider(Provider):
    """Base of the providers that send SMS: they compose with their own :class:`SmsFormat`."""

    channels: ClassVar[frozenset[str]] = frozenset({SMS})
    sms_format: SmsFormat

    def compose(self, text: str, *, to: str | None) -> Composed:
        """Return ``text`` signed and counted (see :meth:`SmsFormat.compose`).

        Raises:
            TemplateError: the SMS is too long.
        """
        return self.sms_format.compose(text, to=to)
