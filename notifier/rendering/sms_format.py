"""How an SMS account composes a text: its signature, its length limit, its number region.

These are options of the SMS account, not of the templates: another gateway may need another
signature (carriers register one per account) or a shorter limit. Rendering counts a stored
template's SMS with them; the SMS providers (:mod:`notifier.channels.smsformat`) send with them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from notifier.domain.sms_length import SmsCount, check_sms_length, count_sms

DEFAULT_SIGNATURE = "【北仑企服】"
MAX_SMS_LENGTH = 500


class SmsFormat(BaseModel):
    """The SMS options every SMS provider takes (``signature``, ``max_length``,
    ``default_region``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    signature: str = DEFAULT_SIGNATURE
    max_length: int = Field(default=MAX_SMS_LENGTH, ge=1, le=MAX_SMS_LENGTH)
    default_region: str = "CN"

    def sign(self, text: str, *, to: str | None) -> tuple[str, SmsCount]:
        """Squash whitespace, prefix the signature, count as the carrier bills it.

        Parameters:
            text: the rendered template.
            to: the recipient's number, or None to count as a number of ``default_region``.

        Raises:
            TemplateError: the SMS is longer than ``max_length``; the message gives the length.
            InputError: ``to`` is not a phone number.
        """
        signed = self.signature + " ".join(text.split())
        count = count_sms(signed, to=to, region=self.default_region)
        check_sms_length(count, max_length=self.max_length)
        return signed, count
