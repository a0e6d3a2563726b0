"""The dry-run provider: record each message as a JSON file instead of sending it.

``outbox_dir/<channel>/<message_id>.json``, one file per message; a retry of the same delivery
has the same message id, so it overwrites the file rather than adding a second one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from notifier.channels.base import Channel, Message, SendResult
from notifier.errors import TransientError

PROVIDER = "dry-run"


class DryRunChannel(Channel):
    """Writes messages for one channel (sms, email, webhook) into the outbox folder."""

    name: ClassVar[str] = "dry-run"

    def __init__(self, *, channel: str, outbox_dir: Path) -> None:
        self.channel = channel
        self.folder = Path(outbox_dir) / channel

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
        return SendResult(provider=PROVIDER, provider_message_id=message.message_id)

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
