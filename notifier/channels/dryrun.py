"""The dry-run provider (kind ``dry-run``): record each message as a JSON file instead of
sending it.

``outbox_dir/<channel>/<message_id>.json``, one file per message; a retry of the same delivery
has the same message id, so it overwrites the file rather than adding a second one. On the sms
channel it takes the SMS options (signature, max_length, default_region) and composes exactly
as a real SMS provider does; on the others it takes no options.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from notifier.channels.base import (
    Composed,
    Message,
    Provider,
    ProviderConfig,
    ProviderEnvironment,
    SendResult,
)
from notifier.channels.options import NoOptions, parse_config
from notifier.channels.smsformat import SmsFormat
from notifier.domain.channel_names import SMS
from notifier.errors import TransientError


class DryRunProvider(Provider):
    """Writes messages for one channel (sms, email, webhook) into the outbox folder."""

    kind: ClassVar[str] = "dry-run"

    def __init__(
        self, *, name: str, channel: str, outbox_dir: Path, sms_format: SmsFormat | None = None
    ) -> None:
        super().__init__(name=name, channel=channel)
        self.folder = Path(outbox_dir) / channel
        self.sms_format = sms_format if sms_format is not None or channel != SMS else SmsFormat()

    @classmethod
    def from_config(
        cls, config: ProviderConfig, *, environment: ProviderEnvironment
    ) -> DryRunProvider:
        """Build the provider from its config (SMS options on the sms channel, else none).

        Raises:
            ConfigError: an unknown or wrong option, or any secret; the message names it.
        """
        if config.channel == SMS:
            sms_format: SmsFormat | None = parse_config(config, SmsFormat)[0]
        else:
            sms_format = None
            parse_config(config, NoOptions)
        return cls(
            name=config.name,
            channel=config.channel,
            outbox_dir=environment.outbox_dir,
            sms_format=sms_format,
        )

    def compose(self, text: str, *, to: str | None) -> Composed:
        """On sms, sign and count like an SMS provider; elsewhere leave the text as it is.

        Raises:
            TemplateError: an SMS longer than its ``max_length``.
        """
        if self.sms_format is None:
            return Composed(text)
        signed, count = self.sms_format.sign(text, to=to)
        return Composed(text=signed, sms_count=count)

    def path_for(self, message: Message) -> Path:
        """Where ``message`` is recorded."""
        return self.folder / f"{message.message_id}.json"

    def send(self, message: Message) -> SendResult:
        """Write the message atomically (a temporary file, then ``os.replace``).

        Raises:
            TransientError: the file could not be written.
        """
        record = {
            "channel": self.channel,
            "delivery_id": message.delivery_id,
            "idempotency_key": message.idempotency_key,
            "message_id": message.message_id,
            "to": message.to,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "payload": message.payload,
            "unsubscribe_url": message.unsubscribe_url,
        }
        try:
            self._write(record, self.path_for(message))
        except OSError as exc:
            raise TransientError(f"dry-run: cannot write outbox file: {exc}") from exc
        return SendResult(provider=self.name, provider_message_id=message.message_id)

    def _write(self, record: dict[str, Any], path: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        # A dot-name in the same folder: readers globbing *.json never see a half-written file.
        fd, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(record, file, ensure_ascii=False, indent=2)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
