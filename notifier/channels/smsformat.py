"""The base of the SMS providers: they compose with their account's :class:`SmsFormat`."""

from __future__ import annotations

from typing import ClassVar

from notifier.channels.base import Composed, Provider
from notifier.domain.channel_names import SMS
from notifier.rendering.sms_format import DEFAULT_SIGNATURE, MAX_SMS_LENGTH, SmsFormat

__all__ = ["DEFAULT_SIGNATURE", "MAX_SMS_LENGTH", "SmsFormat", "SmsProvider"]


class SmsProvider(Provider):
    """Base of the providers that send SMS: they compose with their own :class:`SmsFormat`."""

    channels: ClassVar[frozenset[str]] = frozenset({SMS})
    sms_format: SmsFormat

    def compose(self, text: str, *, to: str | None) -> Composed:
        """Return ``text`` signed and counted (see :meth:`SmsFormat.sign`).

        Raises:
            TemplateError: the SMS is too long.
        """
        signed, count = self.sms_format.sign(text, to=to)
        return Composed(text=signed, sms_count=count)
